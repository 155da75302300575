#!/usr/bin/env bash
# Mine Pnet20 hard negatives with the trained Pnet20 (original P20_gen_hard_example.bat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_hard_example.py --test_mode hardpnet20 --prefix "${PREFIX:-model/pnet20}" --epoch "${EPOCH:-16}" --thresh 0.5 "$@"
