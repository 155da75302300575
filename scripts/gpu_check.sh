#!/usr/bin/env bash
# Check the GPU training path (the original's .bat files train with --gpus 0) on a machine with
# NVIDIA GPUs: installs MXNet 1.9.1's CUDA build into .venv (MXNET_VARIANT, default picked from the
# driver: cu112 for drivers that run CUDA 11.2 or newer),
# then tools/gpu_check.py trains each stage (Pnet, Rnet, Onet) for one short epoch with --gpus 0 and
# on the CPU from the same seed, checks that their per-batch losses agree and prints samples/s per
# stage; with two or more GPUs it repeats the check with --gpus 0,1 (first batch only: devices' gradients
# are summed, so later batches differ from one CPU by design). Ends with gpu_check=ok.
# Without a GPU it says so and exits 0 (the CPU path is what bash scripts/test.sh covers).
# Environment: MXNET_VARIANT (cu101 ... cu112), GPU_CHECK_IMAGES (demo images to sample, default 60).
# Note: MXNet 1.9.1's newest wheel is built for CUDA 11.2; on GPUs newer than its kernels (e.g. Hopper)
# it relies on PTX compiled at first use, which the check exercises.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for a in "$@"; do
  if [ "$a" = "-h" ] || [ "$a" = "--help" ]; then source scripts/env.sh; script_help tools/gpu_check.py "$@"; fi
done
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "gpu_check: no NVIDIA GPU on this machine (nvidia-smi missing or lists none): nothing to check;"
  echo "gpu_check: the CPU training path is covered by bash scripts/test.sh"
  exit 0
fi
n_gpus=$(nvidia-smi -L | grep -c '^GPU')
cuda=$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | head -1)
major=${cuda% *}; minor=${cuda#* }
if [ -z "${MXNET_VARIANT:-}" ]; then
  if [ "${major:-0}" -gt 11 ] || { [ "${major:-0}" -eq 11 ] && [ "${minor:-0}" -ge 2 ]; }; then MXNET_VARIANT=cu112
  elif [ "${major:-0}" -eq 11 ]; then MXNET_VARIANT=cu110
  else MXNET_VARIANT=cu102; fi
fi
export MXNET_VARIANT
echo "gpu_check: $n_gpus GPU(s), driver CUDA ${major:-?}.${minor:-?}, installing mxnet-$MXNET_VARIANT"
nvidia-smi -L
source scripts/env.sh
"$PY" -c "import mxnet as mx; print('gpu_check: MXNet', mx.__version__, 'CUDA' if mx.runtime.Features().is_enabled('CUDA') else 'no CUDA', mx.context.num_gpus(), 'GPU(s)')"
"$PY" tools/gpu_check.py --gpus 0 --images "${GPU_CHECK_IMAGES:-60}" "$@"
if [ "$n_gpus" -ge 2 ]; then
  "$PY" tools/gpu_check.py --gpus 0,1 --images "${GPU_CHECK_IMAGES:-60}" "$@"
fi
