#!/usr/bin/env bash
# Train Pnet20 with hard negatives in two stages (original P20_train_with_hard.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_P20.py --network "${NETWORK:-Pnet20_v1}" --gpus "$GPUS" --lr 0.001 --image_set train_20_with_hard_1 --end_epoch 8 --prefix model/pnet20_hard --lr_epoch 4,8 --batch_size 200 --frequent 1000 "$@"
"$PY" train_P20.py --network "${NETWORK:-Pnet20_v1}" --gpus "$GPUS" --lr 0.00001 --image_set train_20_with_hard_1 --end_epoch 32 --prefix model/pnet20_hard --begin_epoch 8 --resume --lr_epoch 100,200 --batch_size 50000 --frequent 10 "$@"
