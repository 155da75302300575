"""Export a checkpoint to ONNX and check it against MXNet with ONNX Runtime.

    python tools/export_onnx.py --prefix model/pnet20 --epoch 16 --out model/pnet20.onnx

Pnets get dynamic height/width, the other nets a dynamic batch. Fixes applied for MXNet 1.9.1's
exporter: softmax over axis 1 and PReLU slopes reshaped to (C, 1, 1).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.common import add_checkpoint_args, load_checkpoint  # noqa: E402
from core.onnx_backend import OnnxModel, export_onnx  # noqa: E402


def parity(model, onnx_model, seed=0):
    """Max abs difference MXNet vs ONNX Runtime on random inputs (Pnets at two sizes)."""
    info = model.info
    size = info['size']
    shapes = [(1, 3, 240, 320), (1, 3, 97, 131)] if info['kind'] == 'pnet' else [(3, 3, size, size)]
    rng = np.random.RandomState(seed)
    worst = 0.0
    for shape in shapes:
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        for a, b in zip(model(x), onnx_model(x)):
            worst = max(worst, float(np.abs(a - b).max()))
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_checkpoint_args(ap)
    ap.add_argument('--out', required=True, help='.onnx file to write')
    ap.add_argument('--fast_prelu', action='store_true',
                    help='PRelu as s*x + (1-s)*Relu(x): 2-3x faster in ONNX Runtime on CPU (default: standard PRelu)')
    args = ap.parse_args(argv)
    model = load_checkpoint(args)
    if model is None:
        return 2
    export_onnx(model, args.out, args.fast_prelu)
    diff = parity(model, OnnxModel(args.out, model.network))
    print('%s -> %s; onnxruntime max abs diff %.2e' % (model.network, args.out, diff))
    return 0 if diff < 1e-4 else 1


if __name__ == '__main__':
    sys.exit(main())
