#!/usr/bin/env bash
# `npm run bench` on a machine with many cores (16, say): threads 1, 2, 4, 8 and 16 at bs 50 and 512,
# 3 repeats of 50,000 samples, the in-process speedups and the projection beside them, in under 8
# minutes. Run from the project root with dist/ built and node on the PATH; writes benchmark.json,
# benchmark.svg and benchmark.md (the tables, and the machine) into the folder given (default
# bench-results/). For a machine where nothing can be installed, carry Node, the runtime packages and
# MNIST with it (see docs/performance.md).
set -euo pipefail
out=${1:-bench-results}
mkdir -p "$out"
{
  echo "node $(node --version), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  timeout 450 node scripts/bench.mjs --threads 1,2,4,8,16 --bs 50,512 --repeats 3 --samples 50000 --out "$out"
} | tee "$out/benchmark.md"
