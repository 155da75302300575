#!/usr/bin/env bash
# Rnet samples (24x24) from WIDER (original R_gen_data.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_data.py --size 24 --base_num "${BASE_NUM:-1}" "$@"
