#!/usr/bin/env bash
# The original's P20_train_with_hard.bat: train Pnet20 from scratch on the list with hard negatives (train_20_with_hard_1).
# Defaults: scripts/recipes/train/P20_hard.json (network, list, prefix, lr, epochs, batch); flags go to train_P20.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Two phases as the .bat: the second continues from the checkpoint the first ended with (a
# fresh optimizer at the new lr and batch); flags apply to both phases.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_P20.py "$@"
"$PY" train_P20.py --recipe P20_hard "$@"
"$PY" train_P20.py --recipe P20_hard --phase 2 "$@"
