"""Load a checkpoint (the original's or this project's) and describe it.

    python tools/load_model.py --prefix ../shared/models/train-mtcnn/pnet20_v1 --epoch 16
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_checkpoint_args(ap)
    args = ap.parse_args(argv)
    model = cli.load_checkpoint(args)
    info = model.info
    n_params = sum(int(v.size) for v in model.arg.values())
    print('network=%s kind=%s input=%d with_landmark=%s basenum=%s params=%d'
          % (model.network, info['kind'], info['size'], model.with_landmark, model.basenum, n_params))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
