#!/usr/bin/env bash
# ZQCNN is the C++ runtime the original toolkit deploys its models to.
# Builds ZQCNN's C++ library and this repository's driver (tools/zqcnn/zqcnn_detect.cpp), and exports
# the default models to ZQCNN's format: what scripts/zqcnn_reference.sh and scripts/zqcnn_race.sh run.
# Environment:
#   ZQ (required)  a work folder outside the repository; ZQCNN's source must be in $ZQ/ZQCNN:
#                  git clone https://github.com/zuoqing1988/ZQCNN $ZQ/ZQCNN && git -C $ZQ/ZQCNN checkout 9c89e94
#   needs cmake, g++, pkg-config and OpenCV's headers (Debian/Ubuntu: apt-get install build-essential
#   cmake pkg-config libopencv-dev).
# Outputs: $ZQ/ZQCNN/build (libZQCNN.a, libZQ_GEMM.a), $ZQ/zqcnn_detect, $ZQ/models/det{1,2,3}.* (the
# default cascade of model/default/models.json; pass PREFIXES="p,r,o" EPOCHS="e,e,e" for others).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
script_help tools/export_zqcnn.py "$@"
ZQ="${ZQ:?set ZQ to a work folder holding the ZQCNN source in \$ZQ/ZQCNN}"
SRC="$ZQ/ZQCNN"
if [ ! -f "$SRC/ZQCNN/ZQ_CNN_MTCNN.h" ]; then
  echo "zqcnn_build: no ZQCNN source in $SRC; get it with" >&2
  echo "  git clone https://github.com/zuoqing1988/ZQCNN $SRC && git -C $SRC checkout 9c89e94" >&2
  exit 1
fi
# g++ 12 needs <cfloat> for FLT_MAX in one unrelated ZQCNN file that the library target compiles
grep -q '<cfloat>' "$SRC/ZQCNN/ZQ_CNN_SSDDetectorPytorch.cpp" \
  || sed -i.orig '1i #include <cfloat>' "$SRC/ZQCNN/ZQ_CNN_SSDDetectorPytorch.cpp"
if [ ! -f "$SRC/build/ZQCNN/libZQCNN.a" ]; then
  echo "[zqcnn] building the library (a few minutes)" >&2
  mkdir -p "$SRC/build"
  (cd "$SRC/build" && cmake .. -DCMAKE_BUILD_TYPE=release >/dev/null && make -j"${JOBS:-2}" ZQCNN >/dev/null)
fi
BIN="$ZQ/zqcnn_detect"
if [ ! -x "$BIN" ] || [ tools/zqcnn/zqcnn_detect.cpp -nt "$BIN" ]; then
  echo "[zqcnn] compiling $BIN" >&2
  # the flags of ZQCNN's own x86 release build (the MTCNN pipeline is header-only, so they must match)
  g++ -std=c++11 -O3 -DNDEBUG -Ofast -ffast-math -mavx2 -fPIC -fopenmp \
    -I"$SRC/ZQ_GEMM" -I"$SRC/ZQCNN" -I"$SRC/3rdparty/include" $(pkg-config --cflags opencv4) \
    tools/zqcnn/zqcnn_detect.cpp -o "$BIN" \
    "$SRC/build/ZQCNN/libZQCNN.a" "$SRC/build/ZQ_GEMM/libZQ_GEMM.a" \
    -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -fopenmp
fi
mkdir -p "$ZQ/models"
if [ -z "${PREFIXES:-}" ]; then
  PREFIXES=$("$PY" -c "from core.detect.cascade import default_card; print(','.join(default_card().prefix))")
  EPOCHS=$("$PY" -c "from core.detect.cascade import default_card; print(','.join(map(str, default_card().epoch)))")
fi
IFS=, read -r -a prefixes <<< "$PREFIXES"; IFS=, read -r -a epochs <<< "${EPOCHS:?EPOCHS with PREFIXES}"
# what was exported, for the scripts that compare against it
printf 'PREFIXES=%q\nEPOCHS=%q\n' "$PREFIXES" "$EPOCHS" > "$ZQ/models/cascade.env"
for i in 0 1 2; do
  "$PY" tools/export_zqcnn.py --prefix "${prefixes[$i]}" --epoch "${epochs[$i]}" --out "$ZQ/models/det$((i + 1))" >&2
done
echo "[zqcnn] driver $BIN, models $ZQ/models/det{1,2,3}" >&2
