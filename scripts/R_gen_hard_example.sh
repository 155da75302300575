#!/usr/bin/env bash
# The original's R_gen_hard_example.bat: hard negatives for the next stage, mined with model/pnet20_hard.
# Environment: PREFIX (model/pnet20_hard), EPOCH (16), THRESH (0.5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_hard_example.py "$@"
"$PY" prepare_data/gen_hard_example.py --test_mode rnet --prefix "${PREFIX:-$MTCNN_ROOT/model/pnet20_hard}" --epoch "${EPOCH:-16}" --thresh "${THRESH:-0.5}" "$@"
