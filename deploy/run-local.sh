#!/usr/bin/env bash
# Brings the suite up on this machine: a local redis-server (unless one already answers on
# 127.0.0.1:6379), the router, a session service, an inference worker with the demo backend
# (a stand-in for a model, not one, served as model "demo"), an embedding cache with the
# built-in hash embedder (lexical, not semantic; model "hash"), the OpenAI-compatible HTTP edge
# on 127.0.0.1:8080, two echo workers (one of them streams) and sb-health with its status page
# on 127.0.0.1:8090. Every process serves /livez, /readyz and /metrics on an admin port
# (127.0.0.1:91xx, listed at the end). Environment overrides: SB_CLIENT_BIND, SB_WORKER_BIND,
# SB_REDIS, SB_EDGE_LISTEN, SB_HEALTH_LISTEN, SB_ADMIN_PORT_BASE.
# Ctrl-C (or SIGTERM) drains the workers, then stops the router: the order a rolling
# shutdown needs. Children run in their own sessions so the terminal's Ctrl-C reaches only
# this script, which then stops them in that order.
set -euo pipefail
BIN=${1:-build/bin}
CLIENTS=${SB_CLIENT_BIND:-tcp://127.0.0.1:5555}
WORKERS=${SB_WORKER_BIND:-tcp://127.0.0.1:5556}
REDIS_URL=${SB_REDIS:-redis://127.0.0.1:6379}
EDGE=${SB_EDGE_LISTEN:-127.0.0.1:8080}
HEALTH=${SB_HEALTH_LISTEN:-127.0.0.1:8090}
ADMIN=${SB_ADMIN_PORT_BASE:-9100}  # admin listeners on 127.0.0.1:ADMIN+1 ...
router_pid=""
edge_pid=""
redis_pid=""
worker_pids=()

stop() {
  trap - INT TERM EXIT
  [ -n "$edge_pid" ] && kill -TERM "$edge_pid" 2>/dev/null && wait "$edge_pid" 2>/dev/null
  echo "draining workers..."
  for pid in "${worker_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$router_pid" ] && kill -TERM "$router_pid" 2>/dev/null && wait "$router_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  echo "stopped"
}
trap stop INT TERM EXIT

if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  REDIS_DIR=$(mktemp -d)
  echo "starting redis-server on 127.0.0.1:6379 (data in $REDIS_DIR, not persisted)"
  setsid redis-server --port 6379 --bind 127.0.0.1 --dir "$REDIS_DIR" --save '' --appendonly no \
    --loglevel warning &
  redis_pid=$!
  REDIS_URL=redis://127.0.0.1:6379
fi

setsid "$BIN/sb-router" --client-bind "$CLIENTS" --worker-bind "$WORKERS" \
  --admin-http 127.0.0.1:$((ADMIN + 1)) &
router_pid=$!
setsid "$BIN/sb-session" --router "$WORKERS" --redis "$REDIS_URL" --name session-1 \
  --admin-http 127.0.0.1:$((ADMIN + 2)) &
worker_pids+=($!)
setsid "$BIN/sb-inference-dispatch" --router "$WORKERS" --name infer-1 \
  --llm-backend kind=demo,models=demo,max_conns=64 --admin-http 127.0.0.1:$((ADMIN + 3)) &
worker_pids+=($!)
setsid "$BIN/sb-embedding-cache" --router "$WORKERS" --redis "$REDIS_URL" --name embeddings-1 \
  --embed-backend kind=hash,models=hash,max_conns=64 --admin-http 127.0.0.1:$((ADMIN + 4)) &
worker_pids+=($!)
setsid "$BIN/sb-edge" --router "$CLIENTS" --listen "$EDGE" --cors-origin '*' \
  --admin-http 127.0.0.1:$((ADMIN + 5)) &
edge_pid=$!
setsid "$BIN/sb-echo" --router "$WORKERS" --name echo-1 --capacity 16 --admin-http 127.0.0.1:$((ADMIN + 7)) &
worker_pids+=($!)
setsid "$BIN/sb-echo" --router "$WORKERS" --name echo-stream --chunks 5 --delay-ms 250 --capacity 16 \
  --admin-http 127.0.0.1:$((ADMIN + 8)) &
worker_pids+=($!)
setsid "$BIN/sb-health" --router "$WORKERS" --probe-router "$CLIENTS" --redis "$REDIS_URL" \
  --require session,infer,embeddings --admin-http "$HEALTH" &
worker_pids+=($!)

cat <<MSG

Switchboard is up: clients on $CLIENTS, workers on $WORKERS.
OpenAI-compatible API: base URL http://$EDGE/v1 (any API key; chat model "demo", embeddings
model "hash").
Try, in another terminal:
  curl http://$EDGE/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"demo","messages":[{"role":"user","content":"hi"}],"stream":true}'
  curl http://$EDGE/v1/chat/completions -H 'Content-Type: application/json' -H 'X-Session-Id: demo' \
    -d '{"model":"demo","messages":[{"role":"user","content":"remember me"}]}'
  curl http://$EDGE/v1/embeddings -H 'Content-Type: application/json' \
    -d '{"model":"hash","input":["hello world","hello there"],"encoding_format":"float"}'
  $BIN/sbctl status
  $BIN/sbctl call echo echo '{"hello":"world"}'
  $BIN/sbctl call session session.create '{"id":"demo","user":"me"}'
  $BIN/sbctl call session session.get '{"id":"demo"}'
  $BIN/sbctl call infer chat '{"messages":[{"role":"user","content":"hi"}],"max_tokens":8}'
  $BIN/sbctl chat --session demo "hello"
  $BIN/sbctl call embeddings embed '{"model":"hash","inputs":["hello world"]}'
  $BIN/sbctl metrics
Health: the status page at http://$HEALTH/ (the suite's /readyz, /status and /metrics there too);
each process's /livez, /readyz and /metrics on 127.0.0.1:$((ADMIN + 1)) (router), $((ADMIN + 2)) (session),
$((ADMIN + 3)) (infer), $((ADMIN + 4)) (embeddings), $((ADMIN + 5)) (edge), $((ADMIN + 7)) (echo-1),
$((ADMIN + 8)) (echo-stream); deploy/prometheus/prometheus.yml scrapes them all.
Ctrl-C stops everything.

MSG
wait
