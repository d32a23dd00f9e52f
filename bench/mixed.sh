#!/usr/bin/env bash
# bench/mixed.sh — the `mixed` scenario of k6/scenarios.json (1,000 reads/s
# and 500 writes/s, open loop) against one or more catwalk binaries in
# alternating rounds, so that two builds can be compared side by side on a
# noisy machine. Each run starts the binary afresh, runs the scenario once
# for WARMUP seconds (discarded: a new instance's first seconds are slower),
# then for DURATION seconds, measured; prints a Markdown table.
#
# Usage: DATABASE_URL=postgres://… bench/mixed.sh [catwalk-binary…]
#
# DATABASE_URL must name a migrated, loaded database on this machine that
# the runs may write to (each run adds about 5,000 reviews per 10 s).
#
# Environment (defaults in brackets):
#   binaries    the arguments [bin/catwalk, built when missing]
#   PRODUCTS    product ids 1..PRODUCTS [largest product_id in characteristics]
#   DURATION    measured seconds per run [20]
#   WARMUP      discarded seconds before each measured run [10]
#   ROUNDS      rounds over all binaries [3]
#   PORT        catwalk serve's port [18080]
#   OUT         also write the table to this file
set -euo pipefail

cd "$(dirname "$0")/.."

: "${DATABASE_URL:?DATABASE_URL must name a migrated, loaded database}"
DURATION=${DURATION:-20}
DURATION=${DURATION%s}
WARMUP=${WARMUP:-10}
WARMUP=${WARMUP%s}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18080}
OUT=${OUT:-}
CONNS=64 THREADS=2 # for lib.sh's helpers; the scenario sets its own rate

SCRIPT=mixed.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

for v in DURATION WARMUP ROUNDS PORT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done

use_binaries "$@"

url="http://127.0.0.1:$PORT"
runs=()
for ((r = 1; r <= ROUNDS; r++)); do
  for i in "${!binaries[@]}"; do
    CATWALK=${binaries[i]}
    start_catwalk -drain-delay 0
    say "round $r, ${binaries[i]}: warm-up ${WARMUP}s, then ${DURATION}s measured"
    "$tmp/load" -scenarios k6/scenarios.json -scenario mixed -base-url "$url" -products "$PRODUCTS" \
      -duration "${WARMUP}s" >/dev/null 2>&1 || true
    "$tmp/load" -scenarios k6/scenarios.json -scenario mixed -base-url "$url" -products "$PRODUCTS" \
      -duration "${DURATION}s" >"$tmp/r$r-b$i.txt" 2>&1 || true
    cat "$tmp/r$r-b$i.txt" >&2
    grep -q '^result ' "$tmp/r$r-b$i.txt" || die "bench/load failed"
    stop "$serve_pid"
    runs+=("r$r-b$i")
  done
done

# op_p99 FILE OP: the p99 in ms of one operation of a bench/load report.
op_p99() { awk -v op="$2" '$1 == op { for (i = 1; i <= NF; i++) if ($i == "p99") { v = $(i + 1); sub(/ms$/, "", v); print v } }' "$1"; }
field() { sed -n "s/^result .* $2=\([^ ]*\).*/\1/p" "$1"; }

{
  echo "Mixed load, $(machine_line);"
  echo "scenario mixed of k6/scenarios.json, products 1..$PRODUCTS, ${WARMUP}s discarded then ${DURATION}s measured per run, $ROUNDS rounds, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo "| round | binary | requests | errors | p99 ms | list p99 | meta p99 | post p99 | helpful p99 | report p99 | max ms |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for run in "${runs[@]}"; do
    f=$tmp/$run.txt
    r=${run%%-*}
    i=${run##*-b}
    echo "| ${r#r} | ${binaries[i]} | $(field "$f" requests) | $(field "$f" errors) | $(field "$f" p99_ms) | $(op_p99 "$f" list) | $(op_p99 "$f" meta) | $(op_p99 "$f" post) | $(op_p99 "$f" helpful) | $(op_p99 "$f" report) | $(field "$f" max_ms) |"
  done
} >"$tmp/table.md"
cat "$tmp/table.md"
[[ -z $OUT ]] || cp "$tmp/table.md" "$OUT"
