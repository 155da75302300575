#!/usr/bin/env bash
# The original's gen_anno_and_train_list.bat: WIDER FACE annotations -> data/wider/anno.txt
# and data/imglists/train.txt.
# Environment: WIDER_ROOT (data/WIDER: WIDER_train/images and wider_face_split/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help prepare_data/gen_anno_and_train_list.py "$@"
"$PY" prepare_data/gen_anno_and_train_list.py --wider_root "${WIDER_ROOT:-$MTCNN_ROOT/data/WIDER}" "$@"
