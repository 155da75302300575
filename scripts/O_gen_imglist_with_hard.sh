#!/usr/bin/env bash
# The original's O_gen_imglist_with_hard.bat: train_48_with_hard_1.txt (written to data/imglists).
# Environment: BASE_NUM (1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_imglist.py "$@"
"$PY" prepare_data/gen_imglist.py --size 48 --base_num "${BASE_NUM:-1}" --with_hard "$@"
