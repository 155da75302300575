#!/usr/bin/env bash
# The original's L_train_onlylandmark.bat: train Lnet online (rotation, crop, flip, blur) from a 5-point list (img_cut_celeba_all; images under data/<config.landmark_img_set>).
# Defaults: scripts/recipes/train/L_online.json (network, list, prefix, lr, epochs, batch); flags go to train_L.py,
# e.g. --end_epoch 2 --image_set PATH --network NAME.
# Environment: GPUS (e.g. 0 or 0,1; empty = CPU).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_L.py "$@"
"$PY" train_L.py --recipe L_online "$@"
