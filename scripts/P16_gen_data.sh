#!/usr/bin/env bash
# The original's gen_data.py --size 16: positive, part and negative 16x16 crops from WIDER FACE.
# Environment: BASE_NUM (1), PROB_FILE (the original's prob.txt: faces scoring below 0.15 give no
# samples; empty = keep every face).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_data.py "$@"
"$PY" prepare_data/gen_data.py --size 16 --base_num "${BASE_NUM:-1}" --prob_thresh 0.15 ${PROB_FILE:+--prob_file "$PROB_FILE"} "$@"
