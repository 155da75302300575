#!/usr/bin/env bash
# Pnet16 training list with mined hard negatives (original P16_gen_imglist_with_hard.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_imglist.py --size 16 --base_num "${BASE_NUM:-1}" --with_hard "$@"
