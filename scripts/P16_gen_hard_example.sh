#!/usr/bin/env bash
# The original's gen_hard_example16.py: hard negatives for the next stage, mined with model/pnet16.
# Environment: PREFIX (model/pnet16), EPOCH (16), THRESH (0.5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_hard_example.py "$@"
"$PY" prepare_data/gen_hard_example.py --test_mode hardpnet16 --prefix "${PREFIX:-$MTCNN_ROOT/model/pnet16}" --epoch "${EPOCH:-16}" --thresh "${THRESH:-0.5}" "$@"
