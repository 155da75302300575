#!/usr/bin/env bash
# ZQCNN is the C++ runtime the original toolkit deploys its models to.
# Reference boxes of ZQCNN's C++ MTCNN for the --scheme zqcnn parity test: builds ZQCNN and the driver
# (scripts/zqcnn_build.sh), runs it on 4.jpg and 20 WIDER val images at the default models' two
# operating points, writes OUT (default tests/data/zqcnn_reference.txt), then checks this detector
# against it with tools/zqcnn_parity.py. Rerun it whenever the default models change.
# Environment: ZQ (see scripts/zqcnn_build.sh), OUT, MTCNN_SHARED (the shared data folder).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
script_help tools/zqcnn_parity.py "$@"
bash scripts/zqcnn_build.sh
source "$ZQ/models/cascade.env"
OUT="${OUT:-tests/data/zqcnn_reference.txt}"
SHARED=$("$PY" -c "from config import config; print(config.shared)")
[ -d "$SHARED/data/widerface/WIDER_val/images" ] || { echo "zqcnn_reference: no WIDER val images in $SHARED" >&2; exit 1; }
# 4.jpg and every 19th WIDER val image in byte order, 20 in all
images=("images/4.jpg")
while IFS= read -r f; do images+=("${f#"$SHARED"/}"); done < <(
  find "$SHARED/data/widerface/WIDER_val/images" -name '*.jpg' | LC_ALL=C sort | awk 'NR % 19 == 1' | head -20)
abs=(); for r in "${images[@]}"; do abs+=("$SHARED/$r"); done
# repository-relative prefixes when the models live in the repository
rel_prefixes=$("$PY" -c "import os, sys; print(','.join(os.path.relpath(p) if os.path.abspath(p).startswith(os.getcwd() + os.sep) else os.path.abspath(p) for p in sys.argv[1].split(',')))" "$PREFIXES")
sha=$("$PY" -c "import sys; sys.path.insert(0, 'tools'); from zqcnn_parity import fingerprint; print(fingerprint(sys.argv[1].split(','), sys.argv[2].split(',')))" "$PREFIXES" "$EPOCHS")
min_face=$("$PY" -c "from core.detect.cascade import default_card; print(int(default_card().settings().min_face))")
NMS="0.4 0.5 0.5"; FACTOR=0.709
tmp="$OUT.tmp.$$"; trap 'rm -f "$tmp"' EXIT
mkdir -p "$(dirname "$OUT")"
{
  echo "# ZQCNN C++ MTCNN boxes (ZQCNN 9c89e94, tools/zqcnn/zqcnn_detect.cpp), written by scripts/zqcnn_reference.sh"
  echo "# models PREFIXES EPOCHS sha FINGERPRINT; point NAME key value...; image PATH W H faces N, then N boxes"
  echo "models $rel_prefixes $EPOCHS sha $sha"
  for point in default accurate; do
    thresh=$("$PY" -c "from core.detect.cascade import default_card; print(' '.join(map(str, default_card().settings('$point').thresh)))")
    echo "point $point thresh ${thresh// /,} nms ${NMS// /,} min_face $min_face factor $FACTOR"
    OMP_NUM_THREADS=1 "$ZQ/zqcnn_detect" --model-dir "$ZQ/models" --min-face "$min_face" --thresh $thresh \
      --nms $NMS --factor "$FACTOR" "${abs[@]}" | sed "s|^image $SHARED/|image |"
  done
} > "$tmp"
mv "$tmp" "$OUT"
echo "[zqcnn] wrote $OUT ($(grep -c '^image' "$OUT") image runs)" >&2
"$PY" tools/zqcnn_parity.py --reference "$OUT"
