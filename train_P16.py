"""Train a Pnet16 variant on a 16x16 sample list (the original's train_P_net16.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core.train import main  # noqa: E402

DEFAULTS = dict(network='Pnet16_v0', image_set='train_16', prefix='model/pnet16', lr=0.01, lr_epoch='8,14', end_epoch=16, batch_size=512, frequent=100)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:], __doc__, DEFAULTS))
