"""Train an Rnet variant on a 24x24 sample list (the original's train_R_net.py; recipe R =
R_train_with_hard.bat: phase 1 from scratch, phase 2 continues at a lower lr and a larger batch)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli import train_main  # noqa: E402

if __name__ == '__main__':
    sys.exit(train_main(__doc__, os.path.basename(__file__)))
