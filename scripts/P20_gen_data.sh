#!/usr/bin/env bash
# Pnet20 samples from WIDER (original P20_gen_data.bat): packed pos/part/neg under data/samples/20.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_data.py --size 20 --base_num "${BASE_NUM:-1}" "$@"
