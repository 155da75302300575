#!/usr/bin/env bash
# Main job: install if needed, then run the whole cascade pipeline (annotations -> P -> P with hard
# negatives -> R -> O -> evaluation) on the embedded demo set (300 training composites of LFW faces on
# natural images, built from images inside scikit-image; nothing to download) with short recipes. The
# console shows each stage's progress; the run ends with the trained cascade on a real photo
# (runs/quickstart/demo_photo.jpg) and, as the last line, `demo_ap=<AP on the demo set's val split>`.
# `--wider_root DIR` runs this project's recipe on WIDER FACE instead; other flags go to
# tools/pipeline.py (e.g. --from STAGE, --set p.train.phases.1.end_epoch=2). Environment: RUN (the run folder).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
script_help tools/pipeline.py "$@"
if [[ " $* " == *" --wider_root "* ]]; then
  "$PY" tools/pipeline.py --run "${RUN:-runs/wider}" "$@"
else
  "$PY" tools/pipeline.py --run "${RUN:-runs/quickstart}" --demo "$@"
fi
