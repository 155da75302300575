#!/usr/bin/env bash
# Rnet training list with hard negatives (original R_gen_imglist_with_hard.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_imglist.py --size 24 --base_num "${BASE_NUM:-1}" --with_hard "$@"
