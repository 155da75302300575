#!/usr/bin/env bash
# Installs the optional deployment runtimes into ./.venv: NCNN (ncnn, with pnnx's converter binary) and
# MNN, used by tools/export.py --to ncnn|mnn and tools/detect_onnx.py on their folders (the original
# toolkit deploys with ZQCNN; these are the other mobile runtimes its users convert to). pnnx is
# installed without its PyTorch dependency: converting an ONNX file needs only its binary.
# Environment: none. Reinstalls only when the pins below change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
script_help tools/export.py "$@"
PINS="ncnn==1.0.20261020 MNN==3.6.1 portalocker==3.2.0"
PNNX="pnnx==20261020"
STAMP=.venv/.deploy-$(echo "$PINS $PNNX" | cksum | cut -d' ' -f1)
if [ ! -f "$STAMP" ]; then
  echo "[deploy] installing $PINS $PNNX" >&2
  # no dependency resolution: MNN and ncnn would otherwise be free to replace the pinned numpy
  "$PY" -m pip install -q --no-deps $PINS $PNNX >&2
  "$PY" -c "import ncnn, MNN; from core.export.mobile_export import pnnx_binary; pnnx_binary()" >/dev/null
  rm -f .venv/.deploy-*
  touch "$STAMP"
fi
echo "[deploy] ncnn, MNN and pnnx ready in .venv" >&2
