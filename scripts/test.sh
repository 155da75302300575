#!/usr/bin/env bash
# Run the test suite in ./.venv (created on first use). Extra arguments go to pytest.
# The optional NCNN / MNN runtimes are installed too (scripts/deploy_env.sh) where PyPI has them for this
# platform; without them their export tests skip and say why.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
source "$HERE/env.sh"
bash "$HERE/deploy_env.sh" >/dev/null || echo "[test] NCNN/MNN runtimes not installed: their tests skip" >&2
"$PY" -m pytest -q "$@"
