"""Train an Onet variant on a 48x48 sample list (the original's train_O_net.py; recipe O =
O_train_with_hard.bat in two phases, O_landmark = O_train_with_hard_landmark.bat with the 5-point head)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cli import train_main  # noqa: E402

if __name__ == '__main__':
    sys.exit(train_main(__doc__, os.path.basename(__file__)))
