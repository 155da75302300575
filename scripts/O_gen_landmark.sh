#!/usr/bin/env bash
# Offline 5-point crops for Onet/Lnet (original O_gen_landmark.bat). LANDMARK_LIST: a CUHK-format list (default ../shared/data/landmarks5/new_training.txt) or use --format celeba.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_landmark.py --list "${LANDMARK_LIST:-$ROOT/../shared/data/landmarks5/new_training.txt}" --size 48 --base_num "${BASE_NUM:-1}" "$@"
