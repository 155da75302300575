"""Load a checkpoint (the original's or this project's) and describe it.

    python tools/load_model.py --prefix ../shared/models/train-mtcnn/pnet20_v1 --epoch 16
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.model_io import ModelError, load_model  # noqa: E402,F401  (re-exported for tools)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--prefix', required=True)
    ap.add_argument('--epoch', type=int, required=True)
    ap.add_argument('--network', help='registered network (default: read from the checkpoint or matched)')
    args = ap.parse_args(argv)
    try:
        model = load_model(args.prefix, args.epoch, network=args.network)
    except ModelError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    info = model.info
    n_params = sum(int(v.size) for v in model.arg.values())
    print('network=%s kind=%s input=%d with_landmark=%s basenum=%s params=%d'
          % (model.network, info['kind'], info['size'], model.with_landmark, model.basenum, n_params))
    return 0


if __name__ == '__main__':
    sys.exit(main())
