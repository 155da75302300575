#!/usr/bin/env bash
# ZQCNN is the C++ runtime the original toolkit deploys its models to.
# Races this project's detector (--scheme zqcnn, the same candidate flow) against ZQCNN's C++ MTCNN on
# the same models: one pinned core, one thread, ROUNDS interleaved rounds of RUNS detections each, who
# goes first alternating from round to round.
# Prints each round's two medians and their ratio (ours / ZQCNN), then race_ratio=<median ratio>.
# Environment: ZQ (see scripts/zqcnn_build.sh, which this runs first), IMAGE (default
#   ../shared/images/4.jpg), CORE (1), ROUNDS (4), RUNS (30), BACKEND (opencv; onnx = ONNX Runtime),
#   THRESH (the default models' thresholds at the default point, e.g. 0.6,0.6,0.97).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
script_help tools/bench_detector.py "$@"
bash scripts/zqcnn_build.sh
source "$ZQ/models/cascade.env"
IMAGE="${IMAGE:-$("$PY" -c "from config import config; import os; print(os.path.join(config.shared, 'images', '4.jpg'))")}"
CORE="${CORE:-1}"; ROUNDS="${ROUNDS:-4}"; RUNS="${RUNS:-30}"; BACKEND="${BACKEND:-opencv}"
THRESH="${THRESH:-$("$PY" -c "from core.detect.cascade import default_card; print(','.join(map(str, default_card().settings().thresh)))")}"
ratios=()
time_ours() {
  taskset -c "$CORE" "$PY" tools/bench_detector.py --image "$IMAGE" --prefix "$PREFIXES" --epoch "$EPOCHS" \
    --thresh "$THRESH" --runs "$RUNS" --backend "$BACKEND" --threads 1 --scheme zqcnn | sed -n 's/^median_ms=//p'
}
time_theirs() {
  OMP_NUM_THREADS=1 taskset -c "$CORE" "$ZQ/zqcnn_detect" --model-dir "$ZQ/models" \
    --thresh ${THRESH//,/ } --reps "$RUNS" "$IMAGE" | sed -n 's/^median_ms=//p'
}
for r in $(seq 1 "$ROUNDS"); do
  # alternate who goes first, so that the order of the two is not a factor (on a shared VM a
  # process's speed can depend on what ran just before it)
  if [ $((r % 2)) -eq 1 ]; then ours=$(time_ours); theirs=$(time_theirs); else theirs=$(time_theirs); ours=$(time_ours); fi
  ratio=$("$PY" -c "print('%.3f' % ($ours / $theirs))")
  ratios+=("$ratio")
  echo "round $r: ours ($BACKEND, --scheme zqcnn) ${ours} ms, ZQCNN ${theirs} ms, ratio ${ratio}"
done
# the median round (of an even count, the mean of the middle two)
echo "race_ratio=$(printf '%s\n' "${ratios[@]}" | sort -n |
  awk '{a[NR]=$1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}')"
