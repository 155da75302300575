"""Export a cascade for a deployment runtime, and check every net in that runtime against MXNet.

    python tools/export.py --to onnx --out runs/deploy/onnx     # ONNX Runtime (as export_onnx.py --cascade)
    python tools/export.py --to ncnn --out runs/deploy/ncnn     # needs: pip install ncnn; pip install --no-deps pnnx
    python tools/export.py --to mnn  --out runs/deploy/mnn      # needs: pip install MNN
    python tools/detect_onnx.py --models runs/deploy/ncnn --imgfile photo.jpg   # any of the three folders

Model flags as demo.py (default: model/default at its default point). NCNN and MNN models are converted
from the ONNX export (plain PRelu, opset 11) by pnnx and MNN's converter; blobs are named ``data`` →
``prob``, ``bbox`` (, ``landmarks``); ``cascade.json`` holds the stages, thresholds, minimum face,
pyramid factor and preprocessing (BGR, (x − 127.5) · 0.0078125, NCHW). For ZQCNN use
tools/export_zqcnn.py. Exits 1 when a net differs from MXNet by more than 1e-4 in its runtime.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

TOLERANCE = 1e-4


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--to', required=True, choices=['onnx', 'ncnn', 'mnn'], help='target runtime')
    ap.add_argument('--out', required=True, help='output folder')
    cli.add_detector_args(ap, committed_defaults=True)
    args = ap.parse_args(argv)
    from core.detect.cascade import load_stage_models
    from core.export.onnx_export import parity
    from core.runtime.mobile_runtime import open_stage
    from core.runtime.model_io import load_model
    kw = cli.resolve_detector_args(args)
    models = dict(zip(('pnet', 'rnet', 'onet'), load_stage_models(kw['prefixes'], kw['epochs'], kw['networks'])))
    if kw['lnet']:
        models['lnet'] = load_model(*kw['lnet'])
    if args.to == 'onnx':
        from core.export.onnx_export import export_cascade
        card = export_cascade(models, args.out, kw['settings'])
    else:
        from core.export.mobile_export import export_mobile_cascade
        card = export_mobile_cascade(models, args.out, kw['settings'], args.to)
    worst = 0.0
    for stage in card['stages']:
        diff = parity(models[stage], open_stage(args.out, card['stages'][stage], card.get('runtime', 'onnxruntime')))
        print('%s %s -> %s; %s vs MXNet max abs diff %.2e' % (stage, models[stage].network, args.out,
                                                              card.get('runtime', 'onnxruntime'), diff))
        worst = max(worst, diff)
    print('cascade -> %s (thresholds %s, min face %g)' % (os.path.join(args.out, 'cascade.json'),
                                                          ','.join('%g' % t for t in card['thresh']), card['min_face']))
    return 0 if worst < TOLERANCE else 1


if __name__ == '__main__':
    sys.exit(cli.run(main))
