#!/usr/bin/env bash
# The original's demo.bat: detect faces in an image (default: the shipped models on 4.jpg).
# Extra flags go to demo.py, e.g. --prefix model/pnet20,model/rnet,model/onet --epoch 16,16,16
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" demo.py --out "${OUT:-runs/demo/demoresult.jpg}" "$@"
