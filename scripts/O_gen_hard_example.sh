#!/usr/bin/env bash
# Mine Onet training negatives with Pnet + Rnet (original O_gen_hard_example.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_hard_example.py --test_mode onet --prefix "${PREFIX:-model/pnet20_hard,model/rnet}" --epoch "${EPOCH:-16,16}" --thresh 0.6,0.5 "$@"
