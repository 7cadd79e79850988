#!/usr/bin/env bash
# Brings the suite up on this machine: one router and two echo workers (one of them streams).
# Ctrl-C (or SIGTERM) drains the workers and stops everything.
set -euo pipefail
BIN=${1:-build/bin}
FRONTEND=${SB_FRONTEND:-tcp://127.0.0.1:5555}
BACKEND=${SB_BACKEND:-tcp://127.0.0.1:5556}
pids=()

stop() {
  trap - INT TERM EXIT
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

"$BIN/sb-router" --frontend "$FRONTEND" --backend "$BACKEND" &
pids+=($!)
"$BIN/sb-echo" --router "$BACKEND" --name echo-1 --capacity 16 &
pids+=($!)
"$BIN/sb-echo" --router "$BACKEND" --name echo-stream --chunks 5 --delay-ms 250 --capacity 16 &
pids+=($!)

cat <<MSG

Switchboard is up: clients on $FRONTEND, workers on $BACKEND.
Try, in another terminal:
  $BIN/sbctl status
  $BIN/sbctl call echo echo '{"hello":"world"}'
  $BIN/sbctl metrics
Ctrl-C stops everything.

MSG
wait
