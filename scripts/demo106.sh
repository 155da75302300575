#!/usr/bin/env bash
# The original's demo106.bat: 106 landmarks on a face crop (default: the shipped lnet106_112 on 00_.jpg).
# Environment: OUT (runs/demo/demo106_result.png).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help demo106.py "$@"
"$PY" demo106.py --out "${OUT:-runs/demo/demo106_result.png}" "$@"
