#!/usr/bin/env bash
# Every benchmark behind docs/performance.md's tables, one after another: bash benchmarks/all.sh [OUT]
# Each script writes its tables into docs/performance.md itself and its output to OUT/NAME.txt, so a run cut short
# keeps what it measured. Meant for a GPU; on 2 CPU cores the pastiche and quality runs take about an hour each
# (run the scripts one by one: each docstring says how long it takes).
set -uo pipefail
out=${1:-benchmarks/results}
mkdir -p "$out"
run() { name=$1; shift; echo "== $name: $*"; "$@" 2>&1 | tr '\r' '\n' | grep --line-buffered -v '%|' | tee "$out/$name.txt"; }
run overhead-bf16 python benchmarks/overhead.py --precision bf16 --repeats 10                 # 1.
run overhead-fp32 python benchmarks/overhead.py --precision fp32 --repeats 10
run compiled python benchmarks/overhead.py --precision bf16 --sizes 256 512 --compile --repeats 10
run pastiche python benchmarks/side_by_side.py --presets default strong --out "$out/pastiche"  # 2.
run precision python benchmarks/side_by_side.py --precisions fp32 bf16 --out "$out/precision" # 3.
run schedule python benchmarks/schedule.py --sizes 512 --out "$out/schedule"                  # 4.
run quality python benchmarks/quality.py --pairs astronaut:brushstrokes --variants "" preset=strong  # 5.
run fast python benchmarks/fast.py --out "$out/fast"
run universal python benchmarks/universal.py --out "$out/universal.json"
run video python benchmarks/video.py --frames 8 --out "$out/video"
run batch python benchmarks/batch.py
run large python benchmarks/large.py --out "$out/large"
