#!/usr/bin/env bash
# The original's L_train_onlylandmark106_64_offline.bat: continue L106_Net64 on offline 106-point crops (gen_landmark106.sh).
# Defaults: scripts/recipes/train/L106_64_offline.json (network, list, prefix, lr, epochs, batch); flags go to train_L106.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_L106.py "$@"
"$PY" train_L106.py --recipe L106_64_offline "$@"
