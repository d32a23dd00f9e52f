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

SCRIPT=read.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

for v in DURATION CONNS THREADS HOT RATE PORT BASELINE_PORT ROUNDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((DURATION <= 600)) || die "DURATION is capped at 600 seconds per run"

need_tools
check_database
build_catwalk

say "building bench/load and bench/baseline"
go build -o "$tmp/load" ./bench/load
go build -o "$tmp/baseline" ./bench/baseline

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

missed=0
hot_url="http://127.0.0.1:$PORT"
base_url="http://127.0.0.1:$BASELINE_PORT"

# Every run below reads random products: warm PostgreSQL's and the OS's
# caches first, so whichever run comes first is not the one that pays for
# a cold start.
warm_pg

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
  tps=$(run_pgbench "pgbench$r")
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

{
  echo "Read benchmarks, $(machine_line);"
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
