"""Train an Onet variant on a 48x48 sample list, optionally with the 5-point head (the original's train_O_net.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core.train import main  # noqa: E402

DEFAULTS = dict(network='Onet_v1', image_set='train_48_with_hard_1', prefix='model/onet', lr=0.01, lr_epoch='8,14', end_epoch=16, batch_size=512, frequent=100)


def extra(ap):
    ap.add_argument('--with_landmark', action='store_true', help='train the 5-point head on landmark samples (-2)')


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:], __doc__, DEFAULTS, extra))
