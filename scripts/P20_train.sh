#!/usr/bin/env bash
# The original's P20_train.bat: train Pnet20 (P_Net20 = Pnet20_v0) on data/imglists/train_20_1.txt.
# Defaults: scripts/recipes/train/P20.json (network, list, prefix, lr, epochs, batch); flags go to train_P20.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_P20.py "$@"
"$PY" train_P20.py --recipe P20 "$@"
