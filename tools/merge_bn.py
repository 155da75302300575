"""Fold every BatchNorm into the layer before it (identical outputs, fewer layers) and save the
merged checkpoint; reports the layer counts, the largest output difference and the FLOPs.

    python tools/merge_bn.py --prefix model/onet --epoch 16 --out model/onet_merged
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_checkpoint_args(ap)
    ap.add_argument('--out', required=True, help='output prefix (writes -symbol.json and -NNNN.params)')
    args = ap.parse_args(argv)
    from core.export.bn_fold import count_layers, merge_bn
    from core.runtime.model_io import InferenceModel, save_checkpoint
    from symbols.op_count import MEGA, count_ops
    model = cli.load_checkpoint(args)
    sym, arg, aux = merge_bn(model.sym, model.arg, model.aux)
    info = model.info
    size, pnet = info['size'], info['kind'] == 'pnet'
    x = np.random.RandomState(0).uniform(-1, 1, (1, 3, 240, 320) if pnet else (4, 3, size, size)).astype(np.float32)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(model(x), InferenceModel(sym, arg, aux)(x)))
    save_checkpoint(args.out, args.epoch, sym, arg, aux, network=model.network,
                    with_landmark=model.with_landmark, basenum=model.basenum, custom_graph=True)
    print('%s: %d -> %d layers (%d BatchNorm folded), max abs diff %.2e, %.2f M (README rule)'
          % (model.network, count_layers(model.sym), count_layers(sym),
             count_layers(model.sym, 'BatchNorm') - count_layers(sym, 'BatchNorm'), diff,
             count_ops(sym, (1, 3, 240, 320) if pnet else (1, 3, size, size), pnet) / MEGA))
    print('wrote %s-symbol.json, %s-%04d.params' % (args.out, args.out, args.epoch))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
