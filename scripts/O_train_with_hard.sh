#!/usr/bin/env bash
# Train Onet in two stages (original O_train_with_hard.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_O.py --network "${NETWORK:-Onet_v1}" --gpus "$GPUS" --lr 0.003 --image_set train_48_with_hard_1 --end_epoch 3 --prefix model/onet --lr_epoch 8,14,100 --batch_size 500 "$@"
"$PY" train_O.py --network "${NETWORK:-Onet_v1}" --gpus "$GPUS" --lr 0.001 --image_set train_48_with_hard_1 --end_epoch 16 --prefix model/onet --begin_epoch 3 --resume --lr_epoch 8,14,100 --batch_size 5000 --frequent 20 "$@"
