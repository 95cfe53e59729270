#!/usr/bin/env bash
# stylekit on a GPU in one go, about 4 min on one CUDA GPU, needing only this repository and pip:
#   bash benchmarks/gpu.sh [OUT]                  # writes OUT/gpu.json (OUT: $OUT, else benchmarks/results)
#   bash benchmarks/gpu.sh --device cpu --tiny --no-install OUT    # the same path in seconds (the suite runs it)
# Installs stylekit with what the checks need, then benchmarks/gpu.py runs the device-dependent tests there
# (pytest -m device), checks what precision="auto" picks, splits a cold transfer's time and times the main paths.
set -euo pipefail
cd "$(dirname "$0")/.."
device=cuda tiny=() install=1 out=${OUT:-benchmarks/results}
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --tiny) tiny=(--tiny); shift ;;
    --no-install) install=0; shift ;;
    -*) echo "gpu.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done
if [ "$install" = 1 ]; then
  python -m pip install -q -e ".[video,train]" "pytest>=7" "pytest-timeout>=2.1"
fi
mkdir -p "$out"
exec python benchmarks/gpu.py --device "$device" "${tiny[@]}" --out "$out/gpu.json"
