"""Run a stage trainer with every training-graph PReLU replaced by a ReLU: an upper bound, not a model.

    python tools/relu_ceiling.py train_R.py --network Rnet_v1 --image_set LIST --prefix OUT --end_epoch 1

MXNet 1.9's oneDNN has ReLU but no per-channel PReLU, and hands an extension operator (the one-pass PReLU
of ``core/train/fused_ops.py``) plain-layout copies of its blocked arrays. A ReLU is the cheapest
activation it has, so this is the fastest any PReLU could train in MXNet 1.9 on this CPU;
``tools/bench_speed.py --ceiling`` reports it beside the real trainers. The checkpoints it writes are not
usable models (their slopes are untrained).
"""
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mxnet as mx  # noqa: E402

import symbols.builder  # noqa: E402
import symbols.layers  # noqa: E402

_PRELU = symbols.layers.prelu


def relu_in_training(data, name, channels=None, form=None):
    """``symbols.layers.prelu`` with training forms replaced by a ReLU (inference graphs unchanged)."""
    if form is None:
        return _PRELU(data, name, channels, form)
    return mx.sym.Activation(data, act_type='relu', name=name)


def main(argv):
    if not argv or not argv[0].endswith('.py'):
        print('usage: python tools/relu_ceiling.py train_X.py [its arguments]', file=sys.stderr)
        return 2
    symbols.layers.prelu = symbols.builder.prelu = relu_in_training
    sys.argv = list(argv)
    runpy.run_path(argv[0], run_name='__main__')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
