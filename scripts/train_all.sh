#!/usr/bin/env bash
# The original's whole .bat sequence as one resumable pipeline (tools/pipeline.py):
#   WIDER_ROOT=data/WIDER bash scripts/train_all.sh [--from STAGE] [--only STAGE] [--config f.json]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" tools/pipeline.py --run "${RUN:-runs/wider}" --wider_root "${WIDER_ROOT:-$ROOT/data/WIDER}" "$@"
