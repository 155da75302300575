#!/usr/bin/env bash
# Train Lnet_v3 (64x64) online (original L_train_onlylandmark_64.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_L.py --online --list_format "${LIST_FORMAT:-cuhk}" --network Lnet_v3 --gpus "$GPUS" --lr 0.01 --image_set "${LIST:-$ROOT/../shared/data/landmarks5/new_training.txt}" --end_epoch 5000 --prefix model/lnet64_v3 --lr_epoch 2000,4000 --batch_size 100 --frequent 100 "$@"
