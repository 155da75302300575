"""Export to ONNX and check the result against MXNet with ONNX Runtime.

    python tools/export_onnx.py --cascade --out runs/onnx_cascade        # the default models
    python tools/export_onnx.py --cascade --out DIR --prefix P,R,O --epoch 16,16,16 --thresh 0.6,0.7,0.7
    python tools/export_onnx.py --prefix model/pnet20 --epoch 16 --out model/pnet20.onnx   # one net

``--cascade`` writes a folder that runs without MXNet (``tools/detect_onnx.py``): ``pnet.onnx``,
``rnet.onnx``, ``onet.onnx`` (and ``lnet.onnx`` with a landmark net) with outputs named ``prob``,
``bbox``, ``landmarks``, plus ``cascade.json`` (thresholds, minimum face, pyramid factor, Pnet cell
and stride, preprocessing: BGR, ``(x − 127.5) / 128``, NCHW). Pnets have dynamic height/width, the
other nets a dynamic batch. Every exported net is compared with MXNet on random inputs.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

TOLERANCE = 1e-4


def _check(model, path):
    from core.export.onnx_export import parity
    from core.runtime.onnx_runtime import OnnxModel
    diff = parity(model, OnnxModel(path, model.network))
    print('%s -> %s; onnxruntime max abs diff %.2e' % (model.network, path, diff))
    return diff


def export_cascade(args):
    from core.detect.cascade import load_stage_models
    from core.export.onnx_export import export_cascade as write
    from core.runtime.model_io import load_model
    kw = cli.resolve_detector_args(args)
    models = dict(zip(('pnet', 'rnet', 'onet'), load_stage_models(kw['prefixes'], kw['epochs'], kw['networks'])))
    if kw['lnet']:
        models['lnet'] = load_model(*kw['lnet'])
    card = write(models, args.out, kw['settings'], opset=args.opset, fast_prelu=not args.plain_prelu)
    worst = max(_check(models[s], os.path.join(args.out, e['file'])) for s, e in card['stages'].items())
    print('cascade -> %s (thresholds %s, min face %g)' % (os.path.join(args.out, 'cascade.json'),
                                                          ','.join('%g' % t for t in card['thresh']), card['min_face']))
    return 0 if worst < TOLERANCE else 1


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--cascade', action='store_true', help='export the whole cascade to the folder --out')
    ap.add_argument('--out', required=True, help='.onnx file (one net) or folder (--cascade)')
    ap.add_argument('--opset', type=cli.number(int, low=1), default=None, help='ONNX opset to convert to (default: the newest)')
    ap.add_argument('--fast_prelu', action='store_true', help='one net: no PRelu node, rewritten as ONNX Runtime '
                    'runs it fastest (same outputs; Pnets 2.5-3x faster on CPU)')
    ap.add_argument('--plain_prelu', action='store_true', help='--cascade: keep the standard PRelu and Softmax '
                    'nodes (the cascade is otherwise rewritten for ONNX Runtime, as --fast_prelu)')
    cli.add_detector_args(ap, committed_defaults=True)
    args = ap.parse_args(argv)
    if args.cascade:
        return export_cascade(args)
    if not args.prefix or not args.epoch or ',' in args.prefix:
        ap.error('one net: give --prefix and --epoch of one checkpoint (or --cascade)')
    from core.export.onnx_export import export_onnx, runtime_rewrites
    from core.runtime.model_io import load_model
    model = load_model(args.prefix, int(args.epoch), network=args.pnet or args.rnet or args.onet)
    export_onnx(model, args.out, opset=args.opset, **(runtime_rewrites(model.info['kind']) if args.fast_prelu else {}))
    return 0 if _check(model, args.out) < TOLERANCE else 1


if __name__ == '__main__':
    sys.exit(cli.run(main))
