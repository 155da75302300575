#!/usr/bin/env bash
# The original's P20_gen_hard_example.bat: hard negatives for the next stage, mined with model/pnet20.
# Environment: PREFIX (model/pnet20), EPOCH (16), THRESH (0.5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_hard_example.py "$@"
"$PY" prepare_data/gen_hard_example.py --test_mode hardpnet20 --prefix "${PREFIX:-$MTCNN_ROOT/model/pnet20}" --epoch "${EPOCH:-16}" --thresh "${THRESH:-0.5}" "$@"
