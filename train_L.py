"""Train a 5-point landmark net (Lnet_v1/v2/v3): from offline 48x48 landmark crops (recipe L, the
original's train_L_net.py) or online from a landmark list with rotation, crop, flip and blur (recipes
L_online, L_online_64: train_L_net_onlylandmark*.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli import train_main  # noqa: E402

if __name__ == '__main__':
    sys.exit(train_main(__doc__, os.path.basename(__file__)))
