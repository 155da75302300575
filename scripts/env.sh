#!/usr/bin/env bash
# Source me: creates/updates ./.venv (Python 3.11) with the pinned packages of setup.py and
# exports PY=.venv/bin/python. Reinstalls only when setup.py changes.
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
  echo "[env] creating .venv with $PYTHON_BIN"
  "$PYTHON_BIN" -m venv .venv
fi
STAMP=.venv/.installed-$(cksum setup.py | cut -d' ' -f1)
if [ ! -f "$STAMP" ]; then
  echo "[env] installing pinned packages (first run takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e .
  rm -f .venv/.installed-*
  touch "$STAMP"
fi
export PY="$ROOT/.venv/bin/python"
export MXNET_SUBGRAPH_BACKEND="${MXNET_SUBGRAPH_BACKEND:-NONE}"
