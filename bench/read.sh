#!/usr/bin/env bash
# bench/read.sh — the read-path benchmarks, side by side, on this machine:
#
#   (i)   wrk against bench/baseline, a minimal fasthttp server answering a
#         fixed body of the size of a typical cached list response
#   (ii)  wrk against catwalk serve, cache hits: a hot set of HOT products
#   (iii) wrk against catwalk serve, cache misses: products uniform over
#         1..PRODUCTS, with the cache shrunk to its 1 MiB floor
#   (iv)  pgbench -M prepared running the list SELECT (bench/pgbench/list.sql)
#   (v)   go run ./bench/load: GET /reviews at RATE req/s, open loop, for the p99
#
# and prints a Markdown table of the rates and their ratios to the targets.
# wrk and pgbench run with the same connections and threads. (i)/(ii) and
# (iii)/(iv) run as ROUNDS alternating pairs and each target is judged on
# the median ratio, so drift on a noisy machine hits both sides alike.
#
# Usage: DATABASE_URL=postgres://… bench/read.sh [path/to/catwalk]
#
# DATABASE_URL must name a migrated, loaded database on this machine. The
# script starts and stops its own catwalk serve and baseline server on
# 127.0.0.1:$PORT and :$BASELINE_PORT and leaves nothing running.
#
# Environment (defaults in brackets):
#   CATWALK        the binary [first argument, else bin/catwalk, built when missing]
#   PRODUCTS       product ids 1..PRODUCTS [largest product_id in characteristics]
#   DURATION       seconds per run, 10 or 10s [10]
#   CONNS          connections of wrk and pgbench [64]
#   THREADS        threads of wrk and pgbench [2]
#   HOT            products in the cache-hit hot set [100]
#   BODY_SIZE      baseline body bytes [median size of the hot set's answers, else 656]
#   RATE           open-loop rate of run (v) [1000]
#   PORT           catwalk serve's port [18080]
#   BASELINE_PORT  the baseline server's port [18090]
#   ROUNDS         alternating rounds of (i)/(ii) and of (iii)/(iv) [3]
#   HIT_TARGET     cache hits must reach this share of the baseline [0.70]
#   MISS_TARGET    cache misses must reach this share of pgbench [0.60]
#   P99_TARGET_MS  p99 of run (v) must be under this [10]
#   OUT            also write the table to this file
#
# Exit status: 0 every target met, 3 a target missed or a run had errors,
# anything else: the benchmark could not run.
set -euo pipefail

cd "$(dirname "$0")/.."

: "${DATABASE_URL:?DATABASE_URL must name a migrated, loaded database}"
CATWALK=${CATWALK:-${1:-bin/catwalk}}
DURATION=${DURATION:-10}
DURATION=${DURATION%s} # 10 or 10s
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
HOT=${HOT:-100}
RATE=${RATE:-1000}
PORT=${PORT:-18080}
BASELINE_PORT=${BASELINE_PORT:-18090}
HIT_TARGET=${HIT_TARGET:-0.70}
MISS_TARGET=${MISS_TARGET:-0.60}
ROUNDS=${ROUNDS:-3}
P99_TARGET_MS=${P99_TARGET_MS:-10}
OUT=${OUT:-}

say() { printf '%s\n' "read.sh: $*" >&2; }
die() { say "$*"; exit 1; }

for v in DURATION CONNS THREADS HOT RATE PORT BASELINE_PORT ROUNDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((DURATION <= 600)) || die "DURATION is capped at 600 seconds per run"

# Tools: wrk and the PostgreSQL client come from Debian when missing.
need_pkgs=()
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v pgbench >/dev/null || need_pkgs+=(postgresql-client)
command -v psql >/dev/null || need_pkgs+=(postgresql-client)
command -v curl >/dev/null || need_pkgs+=(curl)
if ((${#need_pkgs[@]})); then
  say "installing ${need_pkgs[*]}"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >&2 ||
    die "cannot install ${need_pkgs[*]} (run as root, or install them)"
fi
command -v go >/dev/null || die "go is needed to build bench/load and bench/baseline"

# The database must be on this machine: pgbench is load too.
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

if [[ ! -x $CATWALK ]]; then
  [[ $CATWALK == bin/catwalk ]] || die "no executable catwalk at $CATWALK"
  say "building bin/catwalk"
  CGO_ENABLED=0 go build -trimpath -o bin/catwalk .
fi

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

say "building bench/load and bench/baseline"
go build -o "$tmp/load" ./bench/load
go build -o "$tmp/baseline" ./bench/baseline

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

# start_baseline SIZE: bench/baseline on $BASELINE_PORT; sets baseline_pid.
start_baseline() {
  port_free "$BASELINE_PORT" || die "port $BASELINE_PORT is in use; set BASELINE_PORT"
  "$tmp/baseline" -addr "127.0.0.1:$BASELINE_PORT" -size "$1" >"$tmp/baseline.log" 2>&1 &
  baseline_pid=$!
  pids+=("$baseline_pid")
  wait_up "$baseline_pid" "http://127.0.0.1:$BASELINE_PORT/" || {
    cat "$tmp/baseline.log" >&2
    die "the baseline server did not come up"
  }
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

missed=0
hot_url="http://127.0.0.1:$PORT"
base_url="http://127.0.0.1:$BASELINE_PORT"

# median N…: the median of its arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# Every run below reads random products: warm PostgreSQL's and the OS's
# caches first, so whichever run comes first is not the one that pays for
# a cold start (discarded).
say "warming PostgreSQL: pgbench for ${DURATION}s, discarded"
pgbench -n -M prepared -f bench/pgbench/list.sql -D products="$PRODUCTS" \
  -c "$CONNS" -j "$THREADS" -T "$DURATION" "$DATABASE_URL" >/dev/null 2>&1 ||
  die "pgbench warm-up failed"

# (i) and (ii): the body size the baseline mimics, then ROUNDS alternating
# runs of the baseline and of cache hits, both servers up all along, so
# drift on this noisy machine hits both sides alike.
start_catwalk
sizes=()
for ((k = 0; k < HOT && k < 21; k++)); do
  id=$((k * PRODUCTS / HOT + 1))
  read -r code size < <(curl -s -o /dev/null -w '%{http_code} %{size_download}\n' "$hot_url/reviews?product_id=$id")
  [[ $code == 200 ]] && sizes+=("$size")
done
if [[ -z ${BODY_SIZE:-} ]]; then
  if ((${#sizes[@]})); then
    BODY_SIZE=$(printf '%s\n' "${sizes[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  else
    say "no 200 answer from the hot set: the baseline body is 656 bytes"
    BODY_SIZE=656
  fi
fi
start_baseline "$BODY_SIZE"
say "warming the cache"
wrk -t1 -c"$THREADS" -d2s -s bench/wrk/hot.lua "$hot_url" -- "$PRODUCTS" "$HOT" >/dev/null
hit_ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
  run_wrk "baseline$r" "$base_url" bench/wrk/hot.lua "$PRODUCTS" "$HOT"
  run_wrk "hit$r" "$hot_url" bench/wrk/hot.lua "$PRODUCTS" "$HOT"
  hit_ratios+=("$(ratio "$(wrk_rps "hit$r")" "$(wrk_rps "baseline$r")")")
done
stop "$baseline_pid"

# (v) the p99 at RATE req/s, uniform products, cache as configured by default.
say "open loop: $RATE req/s for ${DURATION}s"
set +e
"$tmp/load" -scenarios k6/scenarios.json -scenario list -base-url "$hot_url" -products "$PRODUCTS" \
  -rate "$RATE" -duration "${DURATION}s" -p99 "${P99_TARGET_MS}ms" >"$tmp/open.txt" 2>&1
open_code=$?
set -e
cat "$tmp/open.txt" >&2
((open_code == 0 || open_code == 99)) || die "bench/load failed (exit $open_code)"
result=$(grep '^result ' "$tmp/open.txt")
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
open_rps=$(field rps)
open_p99=$(field p99_ms)
open_err=$(field errors)
stop "$serve_pid"

# (iii) and (iv): ROUNDS alternating runs of cache misses and of pgbench.
start_catwalk -cache-max-bytes 1
miss_ratios=()
pg_fail=0
for ((r = 1; r <= ROUNDS; r++)); do
  run_wrk "miss$r" "$hot_url" bench/wrk/uniform.lua "$PRODUCTS"
  say "pgbench$r: pgbench -M prepared -c$CONNS -j$THREADS -T$DURATION"
  pgbench -n -M prepared -f bench/pgbench/list.sql -D products="$PRODUCTS" \
    -c "$CONNS" -j "$THREADS" -T "$DURATION" "$DATABASE_URL" >"$tmp/pgbench$r.txt" 2>&1 ||
    { cat "$tmp/pgbench$r.txt" >&2; die "pgbench failed"; }
  cat "$tmp/pgbench$r.txt" >&2
  tps=$(awk '/^tps = / {printf "%.0f", $3; exit}' "$tmp/pgbench$r.txt")
  eval "pg_tps$r=$tps"
  eval "pg_lat$r=$(awk '/^latency average = / {print $4; exit}' "$tmp/pgbench$r.txt")"
  pg_fail=$((pg_fail + $(awk '/^number of failed transactions: / {print $5; exit}' "$tmp/pgbench$r.txt")))
  miss_ratios+=("$(ratio "$(wrk_rps "miss$r")" "$tps")")
done
stop "$serve_pid"

hit_ratio=$(median "${hit_ratios[@]}")
miss_ratio=$(median "${miss_ratios[@]}")
verdict_hit=FAIL
at_least "$hit_ratio" "$HIT_TARGET" && verdict_hit=PASS
verdict_miss=FAIL
at_least "$miss_ratio" "$MISS_TARGET" && verdict_miss=PASS
verdict_p99=FAIL
below "$open_p99" "$P99_TARGET_MS" && [[ $open_err == 0 ]] && verdict_p99=PASS
[[ $verdict_hit == PASS && $verdict_miss == PASS && $verdict_p99 == PASS ]] || missed=1
for ((r = 1; r <= ROUNDS; r++)); do
  for run in baseline hit miss; do
    (($(wrk_bad "$run$r") == 0)) || missed=1
  done
done
((pg_fail == 0)) || missed=1

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
{
  echo "Read benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo);"
  echo "${DURATION}s per run, $ROUNDS alternating rounds, $CONNS connections, $THREADS threads, products 1..$PRODUCTS, hot set $HOT, baseline body $BODY_SIZE B, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo "| round | run | req/s | p99 ms | errors | ratio |"
  echo "|---|---|---:|---:|---:|---|"
  for ((r = 1; r <= ROUNDS; r++)); do
    echo "| $r | (i) baseline fasthttp, fixed ${BODY_SIZE}-byte body (wrk) | $(wrk_rps "baseline$r") | $(wrk_p99 "baseline$r") | $(wrk_bad "baseline$r") | |"
    echo "| $r | (ii) catwalk cache hit, $HOT hot products (wrk) | $(wrk_rps "hit$r") | $(wrk_p99 "hit$r") | $(wrk_bad "hit$r") | ${hit_ratios[r - 1]} × (i) |"
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    lat_var="pg_lat$r"
    tps_var="pg_tps$r"
    echo "| $r | (iii) catwalk cache miss, uniform products (wrk) | $(wrk_rps "miss$r") | $(wrk_p99 "miss$r") | $(wrk_bad "miss$r") | ${miss_ratios[r - 1]} × (iv) |"
    echo "| $r | (iv) pgbench -M prepared, list SELECT | ${!tps_var} | avg ${!lat_var:-?} | | |"
  done
  echo "| | (v) catwalk GET /reviews at $RATE req/s open loop (bench/load) | $open_rps | $open_p99 | $open_err | |"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| cache hits ≥ $HIT_TARGET × baseline (median of rounds) | $hit_ratio | $verdict_hit |"
  echo "| cache misses ≥ $MISS_TARGET × pgbench (median of rounds) | $miss_ratio | $verdict_miss |"
  echo "| p99 < $P99_TARGET_MS ms at $RATE req/s, no errors | $open_p99 ms, $open_err errors | $verdict_p99 |"
} >"$tmp/table.md"
cat "$tmp/table.md"
[[ -z $OUT ]] || cp "$tmp/table.md" "$OUT"
((missed == 0)) || exit 3
