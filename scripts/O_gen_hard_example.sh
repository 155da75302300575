#!/usr/bin/env bash
# The original's O_gen_hard_example.bat: hard negatives for the next stage, mined with model/pnet20_hard,model/rnet.
# Environment: PREFIX (model/pnet20_hard,model/rnet), EPOCH (16,16), THRESH (0.6,0.5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_hard_example.py "$@"
"$PY" prepare_data/gen_hard_example.py --test_mode onet --prefix "${PREFIX:-$MTCNN_ROOT/model/pnet20_hard,$MTCNN_ROOT/model/rnet}" --epoch "${EPOCH:-16,16}" --thresh "${THRESH:-0.6,0.5}" "$@"
