#!/usr/bin/env bash
# WIDER annotations -> data/wider/anno.txt + data/imglists/train.txt (original step 1). WIDER_ROOT defaults to data/WIDER.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$PY" prepare_data/gen_anno_and_train_list.py --wider_root "${WIDER_ROOT:-$ROOT/data/WIDER}" "$@"
