#!/usr/bin/env bash
# The native wgpu benchmarks on a machine with a hardware GPU, in one short run:
# IRT fits (`irt_gpu.py`: bundled MMLU-Pro, synthetic 2,000 × 1,000,
# 10,000 × 2,000 and 6,000 × 30,000) and cosine top-k (`similar_gpu.py`),
# each GPU against the CPU of the same machine in the same run. Writes one
# JSON per benchmark and a log (SKIP_SIMILAR=1 skips the cosine part) into the folder given (default
# bench-results/gpu). Needs python3 with numpy, and a release build
# (EXE=path/to/benchsift to use another), built on a machine of the same
# architecture: the GPU machine need not have Rust.
#
#   bash scripts/bench/gpu_device.sh [out-dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-bench-results/gpu}
exe=${EXE:-target/release/benchsift}
mkdir -p "$out"
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"
  echo "$(nproc) CPUs; $("$exe" --version)"
  python3 scripts/bench/irt_gpu.py --exe "$exe" --csv www/data/mmlu_pro/responses.csv.gz --repeat 3 --json "$out/irt_gpu_mmlu_pro.json"
  python3 scripts/bench/irt_gpu.py --exe "$exe" --models 2000 --items 1000 --repeat 3 --json "$out/irt_gpu_2000x1000.json"
  python3 scripts/bench/irt_gpu.py --exe "$exe" --models 10000 --items 2000 --repeat 3 --json "$out/irt_gpu_10000x2000.json"
  python3 scripts/bench/irt_gpu.py --exe "$exe" --models 6000 --items 30000 --repeat 2 --json "$out/irt_gpu_6000x30000.json"
  # A machine with fewer cores: the same fit on 4 of them.
  taskset -c 0-3 python3 scripts/bench/irt_gpu.py --exe "$exe" --models 10000 --items 2000 --repeat 2 --json "$out/irt_gpu_10000x2000_4cpus.json"
  [ -n "${SKIP_SIMILAR:-}" ] || python3 scripts/bench/similar_gpu.py --exe "$exe" --sizes 4096,12032,30000 --repeat 2 --json "$out/similar_gpu.json"
} 2>&1 | tee "$out/log.txt"
