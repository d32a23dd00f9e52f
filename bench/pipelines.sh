#!/usr/bin/env bash
# bench/pipelines.sh — how many read pipelines (DB_READ_PIPELINES) suit this
# database: cache misses over uniform products (wrk, the cache shrunk to its
# 1 MiB floor) for each value of PIPELINES at each CONNS, next to pgbench -M
# prepared running the same SELECT with the same connections, in ROUNDS
# alternating rounds; prints a Markdown table of medians.
#
# Usage: DATABASE_URL=postgres://… bench/pipelines.sh [path/to/catwalk]
#
# DATABASE_URL must name a migrated, loaded database on this machine. The
# script starts and stops its own catwalk serve on 127.0.0.1:$PORT and
# leaves nothing running.
#
# Environment (defaults in brackets):
#   CATWALK     the binary [first argument, else bin/catwalk, built when missing]
#   PIPELINES   values of -db-read-pipelines to compare ["2 4 8 16"]
#   CONNS_LIST  connections of wrk and pgbench, one set of runs each ["8 64"]
#   DB_MAX_CONNS  catwalk's pool size [16]
#   PRODUCTS    product ids 1..PRODUCTS [largest product_id in characteristics]
#   DURATION    seconds per run [8]
#   THREADS     threads of wrk and pgbench [2]
#   ROUNDS      alternating rounds [2]
#   PORT        catwalk serve's port [18080]
#   OUT         also write the table to this file
set -euo pipefail

cd "$(dirname "$0")/.."

: "${DATABASE_URL:?DATABASE_URL must name a migrated, loaded database}"
CATWALK=${CATWALK:-${1:-bin/catwalk}}
PIPELINES=${PIPELINES:-2 4 8 16}
CONNS_LIST=${CONNS_LIST:-8 64}
DB_MAX_CONNS=${DB_MAX_CONNS:-16}
DURATION=${DURATION:-8}
DURATION=${DURATION%s}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18080}
OUT=${OUT:-}

SCRIPT=pipelines.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

for v in DURATION THREADS ROUNDS PORT DB_MAX_CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for v in $PIPELINES $CONNS_LIST; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || die "PIPELINES and CONNS_LIST hold positive integers, got '$v'"
done
((DURATION <= 600)) || die "DURATION is capped at 600 seconds per run"

need_tools
check_database
build_catwalk

url="http://127.0.0.1:$PORT"
CONNS=${CONNS_LIST%% *}
warm_pg

# mean_batch: statements per round trip on the primary since catwalk started.
mean_batch() {
  curl -s "$url/metrics" | awk '
    /^catwalk_db_read_batches_total\{pool="primary"\}/ {b = $2}
    /^catwalk_db_read_statements_total\{pool="primary"\}/ {s = $2}
    END { if (b > 0) printf "%.1f", s / b; else print "n/a" }'
}

bad=0
for CONNS in $CONNS_LIST; do
  for ((r = 1; r <= ROUNDS; r++)); do
    for n in $PIPELINES; do
      start_catwalk -cache-max-bytes 1 -db-max-conns "$DB_MAX_CONNS" -db-read-pipelines "$n" -drain-delay 0
      run_wrk "c${CONNS}p${n}r$r" "$url" bench/wrk/uniform.lua "$PRODUCTS"
      mean_batch >"$tmp/c${CONNS}p${n}r$r.batch"
      stop "$serve_pid"
      (($(wrk_bad "c${CONNS}p${n}r$r") == 0)) || bad=1
    done
    run_pgbench "c${CONNS}pgr$r" >"$tmp/c${CONNS}pgr$r.tps"
  done
done

{
  echo "Read pipelines, $(machine_line);"
  echo "${DURATION}s per run, $ROUNDS alternating rounds, $THREADS threads, products 1..$PRODUCTS, pool of $DB_MAX_CONNS connections, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown). Medians over the rounds."
  echo
  echo "| connections | DB_READ_PIPELINES | misses/s | × pgbench | p99 ms | statements per round trip | errors |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for CONNS in $CONNS_LIST; do
    pg=()
    for ((r = 1; r <= ROUNDS; r++)); do pg+=("$(cat "$tmp/c${CONNS}pgr$r.tps")"); done
    for n in $PIPELINES; do
      rps=() p99=() batch=() ratios=() errs=0
      for ((r = 1; r <= ROUNDS; r++)); do
        run="c${CONNS}p${n}r$r"
        rps+=("$(wrk_rps "$run")")
        p99+=("$(wrk_p99 "$run")")
        batch+=("$(cat "$tmp/$run.batch")")
        ratios+=("$(ratio "$(wrk_rps "$run")" "${pg[r - 1]}")")
        errs=$((errs + $(wrk_bad "$run")))
      done
      echo "| $CONNS | $n | $(median "${rps[@]}") | $(median "${ratios[@]}") | $(median "${p99[@]}") | $(median "${batch[@]}") | $errs |"
    done
    echo "| $CONNS | pgbench -M prepared, list SELECT | $(median "${pg[@]}") | | | 1 | |"
  done
} >"$tmp/table.md"
cat "$tmp/table.md"
[[ -z $OUT ]] || cp "$tmp/table.md" "$OUT"
((bad == 0)) || exit 3
