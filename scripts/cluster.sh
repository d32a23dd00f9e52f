#!/usr/bin/env bash
# Three `catwalk serve` instances behind NGINX on this machine.
#
#   scripts/cluster.sh start   # make cluster
#   scripts/cluster.sh stop    # make cluster-stop
#   scripts/cluster.sh nginx-conf PORT API_PORT API_PORT API_PORT   # print the derived NGINX config
#
# start: builds bin/catwalk; with DATABASE_URL set, migrates that database
# (`catwalk migrate`, harmless to repeat) and serves it as it is; without,
# starts (or reuses) the local PostgreSQL under ./.data/pg, migrates it and
# loads demo data when it is empty (both done by `catwalk dev`). Then starts
# three instances on API_PORTS and NGINX on NGINX_PORT with a config derived
# from ./nginx.conf. Installs nginx with apt-get when it is missing. Logs and
# pid files: CLUSTER_DIR (./.data/cluster), so another cluster (bench/cluster.sh)
# can run beside this one with a directory and ports of its own.
# CLUSTER_BACKEND=baseline starts three bench/baseline fixed-body servers
# (BASELINE_SIZE bytes, 1158) instead of the instances, and no database:
# the bare tool's capacity on this machine (bench/cluster.sh, part baseline).
# stop: stops every process start started, PostgreSQL included when start
# started it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${CLUSTER_DIR:-$ROOT/.data/cluster}
NGINX_PORT=${NGINX_PORT:-8080}
API_PORTS=${API_PORTS:-"3001 3002 3003"}
export PATH="/usr/local/go/bin:$PATH"

log() { echo "cluster: $*" >&2; }

wait_http() { # url seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# stop_pids signal name...: signals the processes in $DIR/<name>.pid all at
# once (each drains in parallel), then waits for each, killing any still
# running after 30s.
stop_pids() {
  local sig=$1 name pid i
  shift
  for name in "$@"; do
    [[ -f $DIR/$name.pid ]] && kill -"$sig" "$(cat "$DIR/$name.pid")" 2>/dev/null || true
  done
  for name in "$@"; do
    [[ -f $DIR/$name.pid ]] || continue
    pid=$(cat "$DIR/$name.pid")
    for ((i = 0; i < 300; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop in 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
    rm -f "$DIR/$name.pid"
  done
}

find_nginx() {
  command -v nginx 2>/dev/null && return 0
  [[ -x /usr/sbin/nginx ]] && { echo /usr/sbin/nginx; return 0; }
  return 1
}

# nginx_conf port api_port...: ./nginx.conf with only the listen line, the
# three upstream server lines and the line exempting 127.0.0.1 from the
# per-client limits changed (load tests here run from 127.0.0.1); fails when
# one of the server lines is not there exactly once (nginx.conf changed shape).
nginx_conf() {
  local port=$1 i=1 p sedargs=() conf
  shift
  [[ $# == 3 ]] || { log "nginx.conf has three upstream servers; got $# ports"; return 1; }
  sedargs+=(-e "s/^\([[:space:]]*\)listen 8080;/\1listen 127.0.0.1:$port;/")
  sedargs+=(-e "s/^\([[:space:]]*\)127\.0\.0\.1 0;/\1127.0.0.1 1;/")
  for p in "$@"; do
    [[ $(grep -c "server api$i:3000 .* resolve;" "$ROOT/nginx.conf") == 1 ]] || { log "nginx.conf: 'server api$i:3000 … resolve;' is not there exactly once"; return 1; }
    # An IP address needs no `resolve` (nor does NGINX before 1.27.3 know it).
    sedargs+=(-e "s/server api$i:3000 \(.*\) resolve;/server 127.0.0.1:$p \1;/")
    i=$((i + 1))
  done
  [[ $(grep -c "^[[:space:]]*listen 8080;" "$ROOT/nginx.conf") == 1 ]] || { log "nginx.conf: 'listen 8080;' is not there exactly once"; return 1; }
  conf=$(sed "${sedargs[@]}" "$ROOT/nginx.conf")
  printf '%s\n' "$conf"
}

start() {
  mkdir -p "$DIR"
  if ls "$DIR"/*.pid >/dev/null 2>&1; then
    log "already running (pid files in $DIR); run 'make cluster-stop' first"
    exit 1
  fi
  NGINX=$(find_nginx || true)
  if [[ -z $NGINX ]]; then
    log "nginx is missing; installing it with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    NGINX=$(find_nginx)
  fi
  CGO_ENABLED=0 go build -trimpath -o bin/catwalk .

  local out url started
  if [[ ${CLUSTER_BACKEND:-catwalk} == baseline ]]; then
    start_baseline
    return
  fi
  [[ ${CLUSTER_BACKEND:-catwalk} == catwalk ]] || { log "CLUSTER_BACKEND must be catwalk or baseline, got '$CLUSTER_BACKEND'"; exit 1; }
  if [[ -n ${DATABASE_URL:-} ]]; then
    # An existing database (a full-scale load, say): migrate it and serve
    # it as it is, never adding demo data.
    url=$DATABASE_URL
    log "serving DATABASE_URL; migrating it"
    if ! DATABASE_URL=$url bin/catwalk migrate >"$DIR/setup.log" 2>&1; then
      log "catwalk migrate failed; see $DIR/setup.log"
      tail -20 "$DIR/setup.log" >&2
      exit 1
    fi
  else
    out=$(go run ./scripts/localdb start)
    url=$(sed -n 's/^DATABASE_URL=//p' <<<"$out")
    started=$(sed -n 's/^STARTED=//p' <<<"$out")
    [[ $started == 1 ]] && touch "$DIR/db.started"
    log "PostgreSQL at $url"

    # Migrations and demo data (when the database is empty), done by `dev`,
    # which exits once it serves.
    local setup_port=${SETUP_PORT:-3099}
    DATABASE_URL=$url DRAIN_DELAY=0s bin/catwalk dev -port "$setup_port" >"$DIR/setup.log" 2>&1 &
    local setup_pid=$!
    if ! wait_http "http://127.0.0.1:$setup_port/healthz" 600; then
      kill "$setup_pid" 2>/dev/null || true
      log "migrating or loading demo data failed; see $DIR/setup.log"
      tail -20 "$DIR/setup.log" >&2
      exit 1
    fi
    kill -TERM "$setup_pid"
    wait "$setup_pid" || true
  fi

  local i=1 p ports=()
  for p in $API_PORTS; do
    DATABASE_URL=$url PORT=$p bin/catwalk serve >"$DIR/api$i.log" 2>&1 &
    echo $! >"$DIR/api$i.pid"
    ports+=("$p")
    i=$((i + 1))
  done
  start_nginx "${ports[@]}"
}

# start_baseline: the cluster's yardstick (CLUSTER_BACKEND=baseline): three
# bench/baseline servers, each answering every request with the same JSON
# body of BASELINE_SIZE bytes (1158: the median answer of bench/read.sh's
# hot set), behind the same NGINX. No database.
start_baseline() {
  go build -o bin/baseline ./bench/baseline
  local i=1 p ports=()
  for p in $API_PORTS; do
    bin/baseline -addr "127.0.0.1:$p" -size "${BASELINE_SIZE:-1158}" >"$DIR/api$i.log" 2>&1 &
    echo $! >"$DIR/api$i.pid"
    ports+=("$p")
    i=$((i + 1))
  done
  start_nginx "${ports[@]}"
}

# start_nginx PORT…: waits for the instances on PORT…, then starts NGINX
# in front of them.
start_nginx() {
  local p ports=("$@")
  for p in "${ports[@]}"; do
    wait_http "http://127.0.0.1:$p/healthz" 30 || { log "instance on :$p did not start; see $DIR/api*.log"; exit 1; }
  done

  mkdir -p "$DIR/nginx"
  chmod 755 "$DIR" "$DIR/nginx"
  nginx_conf "$NGINX_PORT" "${ports[@]}" >"$DIR/nginx/nginx.conf" || exit 1
  "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -g "daemon off; pid $DIR/nginx/nginx.pid;" >"$DIR/nginx.log" 2>&1 &
  echo $! >"$DIR/nginx.pid"
  wait_http "http://127.0.0.1:$NGINX_PORT/healthz" 30 || { log "nginx did not start; see $DIR/nginx.log"; exit 1; }
  log "three instances on ${ports[*]}; NGINX on http://127.0.0.1:$NGINX_PORT"
  echo "http://127.0.0.1:$NGINX_PORT"
}

stop() {
  stop_pids QUIT nginx
  local f apis=()
  for f in "$DIR"/api*.pid; do
    [[ -f $f ]] && apis+=("$(basename "$f" .pid)")
  done
  [[ ${#apis[@]} -gt 0 ]] && stop_pids TERM "${apis[@]}"
  if [[ -f $DIR/db.started ]]; then
    go run ./scripts/localdb stop && log "stopped PostgreSQL"
    rm -f "$DIR/db.started"
  fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
nginx-conf)
  shift
  [[ $# -ge 1 ]] || { echo "usage: $0 nginx-conf PORT API_PORT API_PORT API_PORT" >&2; exit 2; }
  nginx_conf "$@"
  ;;
*)
  echo "usage: $0 start|stop|nginx-conf PORT API_PORT…" >&2
  exit 2
  ;;
esac
