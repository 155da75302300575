"""Export a checkpoint to ZQCNN's ``.zqparams`` + ``.nchwbin`` (no hand edits needed), verified
with an independent numpy reader in both of ZQCNN's loading modes (see core/export/zqcnn.py).

    python tools/export_zqcnn.py --prefix ../shared/models/train-mtcnn/pnet20_v1 --epoch 16 \
        --out runs/zqcnn/det1
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_checkpoint_args(ap)
    ap.add_argument('--with_landmark', action='store_true', help='an Onet with the 5-point head')
    ap.add_argument('--out', required=True, help='output prefix (.zqparams / .nchwbin)')
    ap.add_argument('--no_rescale', action='store_true', help='write the raw weights (may break ZQCNN)')
    ap.add_argument('--calib', default=None, help='comma-separated calibration images')
    args = ap.parse_args(argv)
    from core.export.zqcnn_export import export_zqcnn, verify
    from core.runtime.model_io import load_model
    model = load_model(args.prefix, args.epoch, network=args.network, with_landmark=args.with_landmark or None)
    report = export_zqcnn(model, args.out, rescale=not args.no_rescale,
                          calib_images=args.calib.split(',') if args.calib else None)
    diffs = verify(model, args.out)
    scaled = {k: v for k, v in report.items() if v != 1.0}
    print('%s -> %s.zqparams / .nchwbin' % (model.network, args.out))
    if scaled:
        print('activation scales: ' + ', '.join('%s=%.3g' % kv for kv in scaled.items()))
    print('numpy reader vs MXNet: plain %.2e, merge-BN+1e-9 %.2e' % (diffs['plain'], diffs['mtcnn']))
    return 0 if max(diffs.values()) < 1e-4 else 1


if __name__ == '__main__':
    sys.exit(cli.run(main))
