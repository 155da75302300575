#!/usr/bin/env bash
# Source me: creates/updates ./.venv (Python 3.11) with the pinned packages of setup.py and exports
# PY=.venv/bin/python. Reinstalls only when setup.py or the MXNet variant changes.
#   MXNET_VARIANT=cu112 (or cu110..cu117): install MXNet 1.9.1's CUDA wheel (mxnet-cu112) instead of the
#   CPU build, for --gpus; it needs an NVIDIA driver and the matching CUDA runtime on the machine.
#   PYTHON=python3.11: the interpreter that creates .venv.
#   MTCNN_ROOT: the folder holding data/ and model/ (default: the repository).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON_BIN="${PYTHON:-}"
if [ -z "$PYTHON_BIN" ]; then
  for c in python3.11 python3 python; do
    if command -v "$c" >/dev/null 2>&1; then PYTHON_BIN="$c"; break; fi
  done
fi
if [ -z "$PYTHON_BIN" ]; then echo "error: no python3 found (need Python 3.11)" >&2; exit 1; fi
if [ ! -x .venv/bin/python ]; then
  echo "[env] creating .venv with $PYTHON_BIN" >&2
  "$PYTHON_BIN" -m venv .venv
fi
VARIANT="${MXNET_VARIANT:-cpu}"
STAMP=.venv/.installed-$(cksum setup.py | cut -d' ' -f1)-$VARIANT
if [ ! -f "$STAMP" ]; then
  echo "[env] installing pinned packages (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e . >&2
  if [ "$VARIANT" != "cpu" ]; then
    echo "[env] replacing the CPU build of MXNet with mxnet-$VARIANT==1.9.1" >&2
    .venv/bin/python -m pip uninstall -q -y mxnet >&2
    .venv/bin/python -m pip install -q "mxnet-$VARIANT==1.9.1" "numpy==1.23.5" >&2
  fi
  rm -f .venv/.installed-*
  touch "$STAMP"
fi
export PY="$ROOT/.venv/bin/python"
# where data/ and model/ live (config.root): the repository unless MTCNN_ROOT says otherwise
export MTCNN_ROOT="${MTCNN_ROOT:-$ROOT}"
export MXNET_SUBGRAPH_BACKEND="${MXNET_SUBGRAPH_BACKEND:-NONE}"

# script_help TOOL.py "$@": on -h/--help print the calling script's header (its comment block, which
# names its environment variables) and the tool's own --help, then exit.
script_help() {
  local tool="$1"; shift
  for a in "$@"; do
    if [ "$a" = "-h" ] || [ "$a" = "--help" ]; then
      sed -n '2,/^[^#]/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
      echo
      "$PY" "$tool" --help
      exit 0
    fi
  done
}
