"""Train a Pnet20 variant (cell 20, stride 4 or 2) on a 20x20 sample list (the original's
train_P_net20.py). Recipes: P20 (P20_train.bat), P20_hard (P20_train_with_hard.bat, two phases)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli import train_main  # noqa: E402

if __name__ == '__main__':
    sys.exit(train_main(__doc__, os.path.basename(__file__)))
