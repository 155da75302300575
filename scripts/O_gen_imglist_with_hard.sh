#!/usr/bin/env bash
# Onet training list with hard negatives (original O_gen_imglist_with_hard.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_imglist.py --size 48 --base_num "${BASE_NUM:-1}" --with_hard "$@"
