"""Train a Pnet20 variant (cell 20, stride 4 or 2) on a 20x20 sample list (the original's train_P_net20.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core.train import main  # noqa: E402

DEFAULTS = dict(network='Pnet20_v0', image_set='train_20_1', prefix='model/pnet20', lr=0.01, lr_epoch='8,14', end_epoch=16, batch_size=512, frequent=100)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:], __doc__, DEFAULTS))
