"""Train a 106-point landmark net (Lnet106_*, L106_Net112/96/80/64; input 48-112) online from an
interleaved 106-point list (the original's train_L_net_onlylandmark106*.py) or from offline crops
(gen_landmark --points 106, the *_offline trainers)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core.train import landmark_args, main  # noqa: E402

DEFAULTS = dict(network='Lnet106_v1', image_set='106data_merge', prefix='model/lnet106', lr=0.01,
                lr_epoch='1000,1500', end_epoch=5000, batch_size=100, frequent=10)


extra = landmark_args('l106')

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:], __doc__, DEFAULTS, extra))
