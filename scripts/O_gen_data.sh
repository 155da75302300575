#!/usr/bin/env bash
# Onet samples (48x48) from WIDER (original O_gen_data.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_data.py --size 48 --base_num "${BASE_NUM:-1}" "$@"
