#!/usr/bin/env bash
# Train Lnet with online augmentation from a landmark list (original L_train_onlylandmark.bat). LIST defaults to the CUHK training list.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_L.py --online --list_format "${LIST_FORMAT:-cuhk}" --network "${NETWORK:-Lnet_v1}" --gpus "$GPUS" --lr 0.01 --image_set "${LIST:-$ROOT/../shared/data/landmarks5/new_training.txt}" --end_epoch 5000 --prefix model/lnet --lr_epoch 2000,4000 --batch_size 100 --frequent 100 "$@"
