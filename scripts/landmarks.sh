#!/usr/bin/env bash
# The 5-point landmark recipe end to end (not in the original): check the CUHK labels (the net_7876/_* block
# moved down by its 27.7-pixel offset, see README "Landmarks") and drop the bad lines, frame every face with
# the detector's own box, train Lnet_v2 on those crops (scripts/recipes/train/L_box.json:
# output BatchNorm frozen at the targets' statistics, L1 loss, Adam, a tenth held out as the dev split),
# then score it on the test list in the detection protocol, its points averaged with the mirrored crop's as the
# default models run it. About 23 minutes on a 2-core CPU.
# Environment: LIST (training list, default ../shared/data/landmarks5/new_training.txt), TEST (test list),
#   OUT (run folder, default runs/landmarks), EPOCH (the checkpoint to evaluate, default 32),
#   SHIFT (inspect_landmarks --shift, default net_7876/_:0,27.7; empty: drop that block instead).
# Flags go to train_L.py, e.g. --end_epoch 24 --network Lnet_v1. Every step resumes or reruns cheaply.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help train_L.py "$@"
SHARED="${MTCNN_SHARED:-$ROOT/../shared}"
LIST="${LIST:-$SHARED/data/landmarks5/new_training.txt}"
TEST="${TEST:-$SHARED/data/landmarks5/new_testing.txt}"
OUT="${OUT:-runs/landmarks}"
EPOCH="${EPOCH:-32}"
SHIFT="${SHIFT-net_7876/_:0,27.7}"
"$PY" tools/inspect_landmarks.py --list "$LIST" --out "$OUT/check" ${SHIFT:+--shift "$SHIFT"} \
    --drop_outliers "$OUT/clean/train.txt"
"$PY" prepare_data/landmark_boxes.py --list "$OUT/clean/train.txt" --out "$OUT/boxes/train.txt"
"$PY" train_L.py --recipe L_box --image_set "$OUT/boxes/train.txt" --prefix "$OUT/lnet_box" "$@"
"$PY" tools/eval_landmarks.py --detect --list "$TEST" --lnet "$OUT/lnet_box,$EPOCH" --lnet_flip on --backend onnx --out "$OUT/eval"
