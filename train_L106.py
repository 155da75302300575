"""Train a 106-point landmark net (Lnet106_*, L106_Net112/96/80/64) online from an interleaved
106-point list (the original's train_L_net_onlylandmark106*.py; recipes L106, L106_112, L106_96,
L106_80, L106_64) or from offline crops (gen_landmark --points 106; recipes L106_64_offline,
L106_80_offline)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli import train_main  # noqa: E402

if __name__ == '__main__':
    sys.exit(train_main(__doc__, os.path.basename(__file__)))
