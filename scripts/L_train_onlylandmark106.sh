#!/usr/bin/env bash
# The original's L_train_onlylandmark106.bat: train Lnet106_v1 (48x48) online from the 106-point list 106data_merge (data/imglists/106data_merge.txt, images under data/<config.landmark_img_set>).
# Defaults: scripts/recipes/train/L106.json (network, list, prefix, lr, epochs, batch); flags go to train_L106.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_L106.py "$@"
"$PY" train_L106.py --recipe L106 "$@"
