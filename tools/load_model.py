"""Load a checkpoint (the original's or this project's) and describe it.

    python tools/load_model.py --prefix ../shared/models/train-mtcnn/pnet20_v1 --epoch 16
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.common import add_checkpoint_args, load_checkpoint  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_checkpoint_args(ap)
    args = ap.parse_args(argv)
    model = load_checkpoint(args)
    if model is None:
        return 2
    info = model.info
    n_params = sum(int(v.size) for v in model.arg.values())
    print('network=%s kind=%s input=%d with_landmark=%s basenum=%s params=%d'
          % (model.network, info['kind'], info['size'], model.with_landmark, model.basenum, n_params))
    return 0


if __name__ == '__main__':
    sys.exit(main())
