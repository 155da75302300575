#!/usr/bin/env bash
# The original's O_gen_imglist_with_hard_landmark.bat: train_48_with_hard_landmark_1.txt (pos, part, neg,
# hard negatives and landmark crops), and, as the .bat's copy step, the landmark-only list
# data/imglists/landmark.txt that L_train.sh reads.
# Environment: BASE_NUM (1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_imglist.py "$@"
"$PY" prepare_data/gen_imglist.py --size 48 --base_num "${BASE_NUM:-1}" --with_hard --with_landmark "$@"
"$PY" prepare_data/gen_imglist.py --size 48 --classes landmark "$@"
