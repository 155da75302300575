#!/usr/bin/env bash
# Train Onet with the 5-point head (original O_train_with_hard_landmark.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_O.py --with_landmark --network "${NETWORK:-Onet_v1}" --gpus "$GPUS" --lr 0.005 --image_set train_48_with_hard_landmark_1 --end_epoch 30 --prefix model/onet --lr_epoch 8,14,100 --batch_size 2000 --frequent 100 "$@"
