#!/usr/bin/env bash
# The original's demo.bat: detect faces in an image and write an annotated copy (default: the
# committed default models on ../shared/images/4.jpg).
# Environment: OUT (runs/demo/demoresult.jpg).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help demo.py "$@"
"$PY" demo.py --out "${OUT:-runs/demo/demoresult.jpg}" "$@"
