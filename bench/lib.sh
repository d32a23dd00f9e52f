# bench/lib.sh — shell helpers the benchmark scripts share. Source it after
# `set -euo pipefail` and `cd` to the repository root, with SCRIPT set to the
# script's name; it makes $tmp (removed on exit) and stops every process
# recorded in pids on exit.
#
# Helpers read DATABASE_URL, CATWALK, CONNS, THREADS, DURATION, PORT.

say() { printf '%s\n' "$SCRIPT: $*" >&2; }
die() {
  say "$*"
  exit 1
}

tmp=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# need_tools: wrk, pgbench, psql and curl, from Debian when missing.
need_tools() {
  local need_pkgs=()
  command -v wrk >/dev/null || need_pkgs+=(wrk)
  command -v pgbench >/dev/null || need_pkgs+=(postgresql-client)
  command -v psql >/dev/null || need_pkgs+=(postgresql-client)
  command -v curl >/dev/null || need_pkgs+=(curl)
  if ((${#need_pkgs[@]})); then
    say "installing ${need_pkgs[*]}"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >&2 ||
      die "cannot install ${need_pkgs[*]} (run as root, or install them)"
  fi
  command -v go >/dev/null || die "go is needed to build the benchmark tools"
}

# check_database: DATABASE_URL answers and is on this machine (pgbench is
# load too); sets PRODUCTS when unset to the largest product id.
check_database() {
  local db_host
  db_host=$(psql "$DATABASE_URL" -XAtqc "SELECT coalesce(host(inet_server_addr()), 'socket')") ||
    die "cannot query DATABASE_URL"
  case $db_host in
    socket | 127.* | ::1) ;;
    *) [[ ${ALLOW_NON_LOOPBACK:-} == 1 ]] || die "the database at $db_host is not on loopback; set ALLOW_NON_LOOPBACK=1 to benchmark it anyway" ;;
  esac
  if [[ -z ${PRODUCTS:-} ]]; then
    PRODUCTS=$(psql "$DATABASE_URL" -XAtqc "SELECT coalesce(max(product_id), 0) FROM characteristics")
    if ((PRODUCTS == 0)); then
      say "the database holds no products: using PRODUCTS=1 (set PRODUCTS to override)"
      PRODUCTS=1
    fi
  fi
  [[ $PRODUCTS =~ ^[1-9][0-9]*$ ]] || die "PRODUCTS must be a positive integer, got '$PRODUCTS'"
}

# build_catwalk: builds bin/catwalk when CATWALK names it and it is missing.
build_catwalk() {
  if [[ ! -x $CATWALK ]]; then
    [[ $CATWALK == bin/catwalk ]] || die "no executable catwalk at $CATWALK"
    say "building bin/catwalk"
    CGO_ENABLED=0 go build -trimpath -o bin/catwalk .
  fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_up PID URL: until URL answers (any status), or fail if PID exits.
wait_up() {
  local pid=$1 url=$2 i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  return 1
}

# stop PID: SIGTERM, then wait for it to exit.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# start_catwalk FLAGS…: catwalk serve on $PORT; sets serve_pid.
start_catwalk() {
  port_free "$PORT" || die "port $PORT is in use; set PORT"
  DATABASE_URL=$DATABASE_URL "$CATWALK" serve -port "$PORT" "$@" >"$tmp/serve.log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  wait_up "$serve_pid" "http://127.0.0.1:$PORT/healthz" || {
    cat "$tmp/serve.log" >&2
    die "catwalk serve did not come up"
  }
}

# warm_pg: pgbench over random products for DURATION seconds, discarded, so
# that whichever run comes first does not pay for cold caches.
warm_pg() {
  say "warming PostgreSQL: pgbench for ${DURATION}s, discarded"
  pgbench -n -M prepared -f bench/pgbench/list.sql -D products="$PRODUCTS" \
    -c "$CONNS" -j "$THREADS" -T "$DURATION" "$DATABASE_URL" >/dev/null 2>&1 ||
    die "pgbench warm-up failed"
}

# run_pgbench NAME: list.sql under pgbench -M prepared with CONNS clients;
# output in $tmp/NAME.txt, tps printed.
run_pgbench() {
  say "$1: pgbench -M prepared -c$CONNS -j$THREADS -T$DURATION"
  pgbench -n -M prepared -f bench/pgbench/list.sql -D products="$PRODUCTS" \
    -c "$CONNS" -j "$THREADS" -T "$DURATION" "$DATABASE_URL" >"$tmp/$1.txt" 2>&1 ||
    {
      cat "$tmp/$1.txt" >&2
      die "pgbench failed"
    }
  cat "$tmp/$1.txt" >&2
  awk '/^tps = / {printf "%.0f", $3; exit}' "$tmp/$1.txt"
}

# run_wrk NAME URL SCRIPT ARGS…: one wrk run; its output goes to $tmp/NAME.wrk.
run_wrk() {
  local name=$1 url=$2 script=$3
  shift 3
  say "$name: wrk -t$THREADS -c$CONNS -d${DURATION}s -s $script $url -- $*"
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$script" "$url" -- "$@" >"$tmp/$name.wrk"
  cat "$tmp/$name.wrk" >&2
}

# wrk_rps / wrk_p99 / wrk_bad NAME: numbers from a wrk output.
wrk_rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$tmp/$1.wrk"; }
wrk_p99() {
  awk '$1 == "99%" {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
    printf "%.2f", v }' "$tmp/$1.wrk"
}
wrk_bad() {
  awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$tmp/$1.wrk"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "n/a" && a + 0 >= b + 0) }'; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# median N…: the median of its arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# machine_line: date, cores, CPU model and memory, for result headers.
machine_line() {
  printf '%s, %s cores (%s), %s' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
    "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
}

# use_binaries BIN...: sets binaries to the catwalk builds to compare
# (bin/catwalk, built now, when none is given) and checks each is
# executable; then the tools, the database, and bench/load at $tmp/load.
use_binaries() {
  binaries=("$@")
  if ((${#binaries[@]} == 0)); then
    CATWALK=bin/catwalk
    build_catwalk
    binaries=(bin/catwalk)
  fi
  local b
  for b in "${binaries[@]}"; do
    [[ -x $b ]] || die "no executable catwalk at $b"
  done
  need_tools
  check_database
  go build -o "$tmp/load" ./bench/load
}
