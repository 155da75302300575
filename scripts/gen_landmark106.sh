#!/usr/bin/env bash
# The original's gen_landmark106.bat: offline 106-point crops (data/samples/<SIZE>/landmark106).
# Environment: LIST106 (an interleaved 106-point list: a path, or a name under data/imglists; default
# 106data_merge, images under data/<config.landmark_img_set>), SIZE (80), BASE_NUM (10). Writes the list
# data/imglists/landmark106.txt (size 80) or landmark106_<SIZE>.txt, as the offline recipes read them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_landmark.py "$@"
"$PY" prepare_data/gen_landmark.py --points 106 --list "${LIST106:-106data_merge}" --size "${SIZE:-80}" --base_num "${BASE_NUM:-10}" "$@"
NAME=landmark106; [ "${SIZE:-80}" = "80" ] || NAME="landmark106_${SIZE}"  # the names the offline recipes read
"$PY" prepare_data/gen_imglist.py --size "${SIZE:-80}" --classes landmark106 --out "$MTCNN_ROOT/data/imglists/$NAME.txt"
