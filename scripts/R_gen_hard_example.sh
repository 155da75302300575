#!/usr/bin/env bash
# Mine Rnet training negatives with Pnet (original R_gen_hard_example.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_hard_example.py --test_mode rnet --prefix "${PREFIX:-model/pnet20_hard}" --epoch "${EPOCH:-16}" --thresh 0.5 "$@"
