#!/usr/bin/env bash
# Runs every benchmark and prints its figures. Record them in bench/RESULTS.md with the date
# and the machine (nproc, CPU model) they were measured on.
set -euo pipefail
BUILD=${1:-build}
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$BUILD/bench/bench_codec" --benchmark_min_time=0.5
"$BUILD/bench/bench_router_throughput" --seconds 4 --runs 5
"$BUILD/bench/bench_admin_overhead" --seconds 3 --runs 9
"$BUILD/bench/bench_policy_latency" --seconds 10 --runs 3
"$BUILD/bench/bench_inference_stream" --seconds 5
"$BUILD/bench/bench_edge_latency" --rounds 10 --per-round 300 --wrk-seconds 5
"$BUILD/bench/bench_edge_streams" --streams 5000 --tokens 100
# With an earlier build's binaries in DIR: BASELINE=DIR make -f Makefile.dev bench
"$BUILD/bench/bench_backend_handoff" ${BASELINE:+--baseline-bin "$BASELINE"}
"$BUILD/bench/bench_cache_policy"
"$BUILD/bench/bench_embed_hit_latency" --requests 10000 --runs 3
"$BUILD/bench/bench_embed_backend_savings"
