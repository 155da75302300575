#!/usr/bin/env bash
# Train Pnet16 (the original has train_P_net16.py but no .bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_P16.py --network "${NETWORK:-Pnet16_v0}" --gpus "$GPUS" --lr 0.001 --image_set train_16_1 --prefix model/pnet16 --end_epoch 16 --lr_epoch 8,14 --frequent 10 --batch_size 1000 "$@"
