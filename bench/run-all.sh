#!/usr/bin/env bash
# Runs every benchmark and prints its figures. Record them in bench/RESULTS.md with the date
# and the machine (nproc, CPU model) they were measured on.
set -euo pipefail
BUILD=${1:-build}
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$BUILD/bench/bench_codec" --benchmark_min_time=0.5
"$BUILD/bench/bench_router_throughput" --seconds 4 --runs 5
"$BUILD/bench/bench_policy_latency" --seconds 10 --runs 3
"$BUILD/bench/bench_inference_stream" --seconds 5
