#!/usr/bin/env bash
# Offline 106-point crops (original gen_landmark106.bat): LIST106 is an interleaved 106-point list.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_landmark.py --points 106 --list "${LIST106:?set LIST106 to a 106-point list}" --size "${SIZE:-80}" --base_num "${BASE_NUM:-10}" "$@"
