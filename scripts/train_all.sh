#!/usr/bin/env bash
# The whole cascade as one resumable pipeline (tools/pipeline.py), the original's .bat sequence:
#   WIDER_ROOT=data/WIDER bash scripts/train_all.sh [--config scripts/recipes/original.json] [--from STAGE]
# Environment: WIDER_ROOT (data/WIDER), RUN (runs/wider).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help tools/pipeline.py "$@"
"$PY" tools/pipeline.py --run "${RUN:-runs/wider}" --wider_root "${WIDER_ROOT:-$MTCNN_ROOT/data/WIDER}" "$@"
