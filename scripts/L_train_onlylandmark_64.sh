#!/usr/bin/env bash
# The original's L_train_onlylandmark_64.bat: train Lnet_v3 (64x64) online from a 5-point list.
# Defaults: scripts/recipes/train/L_online_64.json (network, list, prefix, lr, epochs, batch); flags go to train_L.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_L.py "$@"
"$PY" train_L.py --recipe L_online_64 "$@"
