#!/usr/bin/env bash
# The original's O_train_with_hard.bat: train Onet on train_48_with_hard_1.
# Defaults: scripts/recipes/train/O.json (network, list, prefix, lr, epochs, batch); flags go to train_O.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Two phases as the .bat: the second continues from the checkpoint the first ended with (a
# fresh optimizer at the new lr and batch); flags apply to both phases.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_O.py "$@"
"$PY" train_O.py --recipe O "$@"
"$PY" train_O.py --recipe O --phase 2 "$@"
