"""Train an Rnet variant on a 24x24 sample list (the original's train_R_net.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core.train import main  # noqa: E402

DEFAULTS = dict(network='Rnet_v1', image_set='train_24_with_hard_1', prefix='model/rnet', lr=0.01, lr_epoch='8,14', end_epoch=16, batch_size=512, frequent=100)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:], __doc__, DEFAULTS))
