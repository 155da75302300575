#!/usr/bin/env bash
# Pnet16 samples from WIDER (original P16_gen_data.bat): packed pos/part/neg under data/samples/16.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_data.py --size 16 --base_num "${BASE_NUM:-1}" "$@"
