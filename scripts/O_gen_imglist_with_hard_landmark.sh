#!/usr/bin/env bash
# Onet list with hard negatives and landmark crops (original O_gen_imglist_with_hard_landmark.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_imglist.py --size 48 --base_num "${BASE_NUM:-1}" --with_hard --with_landmark "$@"
