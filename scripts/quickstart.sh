#!/usr/bin/env bash
# Main job. Until the whole-cascade pipeline lands this installs the project, prints the FLOP
# table and, when the reference models are present, runs the demo on ../shared/images/4.jpg.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" tools/flops.py
SHARED="${MTCNN_SHARED:-$ROOT/../shared}"
if [ -f "$SHARED/models/train-mtcnn/pnet20_v1-0016.params" ] && [ -f demo.py ]; then
  M="$SHARED/models/train-mtcnn"
  "$PY" demo.py --prefix "$M/pnet20_v1,$M/rnet_v1,$M/onet_v1" --epoch 16,16,16 \
    --imgfile "$SHARED/images/4.jpg" --out runs/demo/4_result.jpg --save_dets runs/demo/4_dets.txt
fi
