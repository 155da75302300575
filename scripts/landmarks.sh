#!/usr/bin/env bash
# The 5-point landmark recipe end to end (not in the original): check the CUHK labels (the net_7876/_* block
# moved down by its 27.7-pixel offset, see docs/landmarks.md) and drop the bad lines, frame every face with
# the detector's own box, hold out a dev split balanced over head pose and repeat the training faces of
# rarer poses (prepare_data/landmark_split.py), train Lnet_v2 on those crops (scripts/recipes/train/L_box.json:
# output BatchNorm frozen at the targets' statistics, L1 loss, Adam), then score it on the test list in the
# detection protocol beside the original MTCNN, its points averaged with the mirrored crop's as the default
# models run it.
# Environment: LIST (training list, default ../shared/data/landmarks5/new_training.txt), TEST (test list),
#   OUT (run folder, default runs/landmarks), EPOCH (the checkpoint to evaluate, default: the recipe's last),
#   SHIFT (inspect_landmarks --shift, default net_7876/_:0,27.7; empty: drop that block instead),
#   POSE_BALANCE (landmark_split --pose_balance, default 0.5; 0: every training face once).
# Flags go to train_L.py, e.g. --end_epoch 24 --network Lnet_v1. Every step resumes or reruns cheaply.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_L.py "$@"
SHARED="${MTCNN_SHARED:-$ROOT/../shared}"
LIST="${LIST:-$SHARED/data/landmarks5/new_training.txt}"
TEST="${TEST:-$SHARED/data/landmarks5/new_testing.txt}"
OUT="${OUT:-runs/landmarks}"
EPOCH="${EPOCH:-64}"
POSE_BALANCE="${POSE_BALANCE:-0.5}"
SHIFT="${SHIFT-net_7876/_:0,27.7}"
"$PY" tools/inspect_landmarks.py --list "$LIST" --out "$OUT/check" ${SHIFT:+--shift "$SHIFT"} \
    --drop_outliers "$OUT/clean/train.txt"
"$PY" prepare_data/landmark_boxes.py --list "$OUT/clean/train.txt" --out "$OUT/boxes/train.txt"
"$PY" prepare_data/landmark_split.py --list "$OUT/boxes/train.txt" --out "$OUT/split" --pose_balance "$POSE_BALANCE"
"$PY" train_L.py --recipe L_box --image_set "$OUT/split/train.txt" --val_list "$OUT/split/dev.txt" \
    --prefix "$OUT/lnet_box" "$@"
"$PY" tools/eval_landmarks.py --detect --list "$TEST" --lnet "$OUT/lnet_box,$EPOCH" --lnet_flip on --backend onnx \
    --compare caffe --out "$OUT/eval"
