#!/usr/bin/env bash
# The original's P20_gen_imglist.bat: the Pnet training list train_20_1.txt (written to data/imglists).
# Environment: BASE_NUM (1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_imglist.py "$@"
"$PY" prepare_data/gen_imglist.py --size 20 --base_num "${BASE_NUM:-1}" "$@"
