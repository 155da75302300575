"""Train a 5-point landmark net (Lnet_v1/v2/v3): from offline 48x48 landmark crops (the original's
train_L_net.py) or, with --online, from a landmark list with online augmentation (train_L_net_onlylandmark*.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core.train import landmark_args, main  # noqa: E402

DEFAULTS = dict(network='Lnet_v1', image_set='landmark', prefix='model/lnet', lr=0.001, lr_epoch='8,14',
                end_epoch=16, batch_size=512, frequent=100)


extra = landmark_args('cuhk')

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:], __doc__, DEFAULTS, extra))
