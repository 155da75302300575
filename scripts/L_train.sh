#!/usr/bin/env bash
# Train Lnet on offline 48x48 landmark crops (original L_train.bat); list: data/imglists/landmark.txt (gen_imglist over landmark samples).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
GPUS="${GPUS:-}"  # e.g. GPUS=0 or GPUS=0,1; empty = CPU
"$PY" train_L.py --network "${NETWORK:-Lnet_v1}" --gpus "$GPUS" --lr 0.001 --image_set "${IMAGE_SET:-landmark}" --end_epoch 16 --prefix model/lnet --lr_epoch 8,14,100 --batch_size 2000 --frequent 100 "$@"
