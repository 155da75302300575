#!/usr/bin/env bash
# Train L106_Net80 online from a 106-point list (original L_train_onlylandmark106_80.bat). LIST106: interleaved 106-point list.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_L106.py --online --network L106_Net80 --gpus "$GPUS" --lr 0.01 --image_set "${LIST106:?set LIST106 to a 106-point list}" --end_epoch 8000 --prefix model/lnet106_80 --lr_epoch 2500,5000,8000 --batch_size 1000 --frequent 10 "$@"
