#!/usr/bin/env bash
# The original's O_train_with_hard_landmark.bat: train Onet with its 5-point head on train_48_with_hard_landmark_1.
# Defaults: scripts/recipes/train/O_landmark.json (network, list, prefix, lr, epochs, batch); flags go to train_O.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_O.py "$@"
"$PY" train_O.py --recipe O_landmark "$@"
