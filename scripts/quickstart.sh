#!/usr/bin/env bash
# Main job: install if needed, then run the whole cascade pipeline (annotations -> P -> P hard ->
# R -> O -> evaluation) on the embedded demo set with short recipes, and print the summary ending
# with the AP line. `--wider_root DIR` runs the same on real WIDER FACE (full recipes); other flags
# go to tools/pipeline.py (e.g. --from STAGE, --set p_epochs=2).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ " $* " == *" --wider_root "* ]]; then
  "$PY" tools/pipeline.py --run "${RUN:-runs/wider}" "$@"
else
  "$PY" tools/pipeline.py --run "${RUN:-runs/quickstart}" --demo "$@"
fi
