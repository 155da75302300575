#!/usr/bin/env bash
# Train Pnet20 from scratch (original P20_train.bat). NETWORK selects the variant.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_P20.py --network "${NETWORK:-Pnet20_v1}" --gpus "$GPUS" --lr 0.001 --image_set train_20_1 --prefix model/pnet20 --end_epoch 16 --lr_epoch 8,14 --frequent 10 --batch_size 1000 "$@"
