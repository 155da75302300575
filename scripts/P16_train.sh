#!/usr/bin/env bash
# The original's train_P_net16.py: train Pnet16 (P_Net16 = Pnet16_v0) on train_16_1.
# Defaults: scripts/recipes/train/P16.json (network, list, prefix, lr, epochs, batch); flags go to train_P16.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_P16.py "$@"
"$PY" train_P16.py --recipe P16 "$@"
