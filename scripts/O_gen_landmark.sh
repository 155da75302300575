#!/usr/bin/env bash
# The original's O_gen_landmark.bat: offline 48x48 5-point crops for Onet/Lnet (data/samples/48/landmark),
# then the landmark-only list data/imglists/landmark.txt (L_train.sh reads it).
# Environment: LANDMARK_LIST (a CUHK-format list; default ../shared/data/landmarks5/new_training.txt; --format celeba
# for CelebA lists), BASE_NUM (1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_landmark.py "$@"
"$PY" prepare_data/gen_landmark.py --list "${LANDMARK_LIST:-$ROOT/../shared/data/landmarks5/new_training.txt}" --size 48 --base_num "${BASE_NUM:-1}" "$@"
"$PY" prepare_data/gen_imglist.py --size 48 --classes landmark
