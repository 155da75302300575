#!/usr/bin/env bash
# The original's R_train_with_hard.bat: train Rnet on train_24_with_hard_1.
# Defaults: scripts/recipes/train/R.json (network, list, prefix, lr, epochs, batch); flags go to train_R.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Two phases as the .bat: the second continues from the checkpoint the first ended with (a
# fresh optimizer at the new lr and batch); flags apply to both phases.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_R.py "$@"
"$PY" train_R.py --recipe R "$@"
"$PY" train_R.py --recipe R --phase 2 "$@"
