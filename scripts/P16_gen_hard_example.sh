#!/usr/bin/env bash
# Mine Pnet16 hard negatives (the original's gen_hard_example16.py).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_hard_example.py --test_mode hardpnet16 --prefix "${PREFIX:-model/pnet16}" --epoch "${EPOCH:-16}" --thresh 0.5 "$@"
