#!/usr/bin/env bash
# bench/writes.sh — the hot write case: the `writes` scenario of
# k6/scenarios.json (POST /reviews and PUT …/helpful on 50 sampled products
# and 20 of their reviews each, open loop at RATE) against one or more
# catwalk binaries in alternating rounds, so that two builds compare side by
# side on a noisy machine. During each measured run it samples
# pg_stat_activity every 200 ms and reports what the active backends of the
# database waited on (Lock:object is the cluster-wide NOTIFY lock,
# Lock:transactionid and Lock:tuple are row locks held by a concurrent write
# of the same product or review, LWLock:WALWrite and IO:WALSync the WAL
# flush of commits). Prints a Markdown table.
#
# Usage: DATABASE_URL=postgres://… bench/writes.sh [catwalk-binary…]
#
# DATABASE_URL must name a migrated, loaded database on this machine that
# the runs may write to (a run adds RATE/2 reviews a second).
#
# Environment (defaults in brackets):
#   binaries    the arguments [bin/catwalk, built when missing]
#   PRODUCTS    product ids 1..PRODUCTS [largest product_id in characteristics]
#   RATE        requests per second offered [800]
#   DURATION    measured seconds per run [20]
#   WARMUP      discarded seconds before each measured run [5]
#   ROUNDS      rounds over all binaries [2]
#   PORT        catwalk serve's port [18080]
#   OUT         also write the table to this file
set -euo pipefail

cd "$(dirname "$0")/.."

: "${DATABASE_URL:?DATABASE_URL must name a migrated, loaded database}"
RATE=${RATE:-800}
DURATION=${DURATION:-20}
DURATION=${DURATION%s}
WARMUP=${WARMUP:-5}
WARMUP=${WARMUP%s}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18080}
OUT=${OUT:-}
CONNS=64 THREADS=2 # for lib.sh's helpers; the scenario sets its own rate

SCRIPT=writes.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

for v in RATE DURATION WARMUP ROUNDS PORT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done

use_binaries "$@"

# sample_waits SECONDS FILE: one line per active backend of the database
# every 200 ms: its wait event (CPU when none) and the statement's start.
sample_waits() {
  local end=$((SECONDS + $1))
  while ((SECONDS < end)); do
    psql "$DATABASE_URL" -XAtqc "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
      || ' ' || CASE WHEN query LIKE 'UPDATE reviews SET helpfulness%' OR query LIKE '%voted AS%' THEN 'helpful'
                     WHEN query LIKE '%prior AS%' THEN 'post' ELSE 'other' END
      FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'" || true
    sleep 0.2
  done >"$2"
}

# waits FILE: the five commonest wait events with their share of samples.
waits() {
  sort "$1" | uniq -c | sort -rn | awk -v n="$(wc -l <"$1")" 'NR <= 5 { printf "%s%s %s %.0f%%", (NR > 1 ? "; " : ""), $2, $3, 100 * $1 / n }'
}

url="http://127.0.0.1:$PORT"
runs=()
for ((r = 1; r <= ROUNDS; r++)); do
  for i in "${!binaries[@]}"; do
    CATWALK=${binaries[i]}
    start_catwalk -drain-delay 0
    say "round $r, ${binaries[i]}: warm-up ${WARMUP}s, then ${DURATION}s measured at $RATE req/s"
    "$tmp/load" -scenarios k6/scenarios.json -scenario writes -base-url "$url" -products "$PRODUCTS" \
      -rate "$RATE" -duration "${WARMUP}s" >/dev/null 2>&1 || true
    sample_waits "$DURATION" "$tmp/r$r-b$i.waits" &
    sampler=$!
    "$tmp/load" -scenarios k6/scenarios.json -scenario writes -base-url "$url" -products "$PRODUCTS" \
      -rate "$RATE" -duration "${DURATION}s" >"$tmp/r$r-b$i.txt" 2>&1 || true
    wait "$sampler" || true
    cat "$tmp/r$r-b$i.txt" >&2
    grep -q '^result ' "$tmp/r$r-b$i.txt" || die "bench/load failed"
    stop "$serve_pid"
    runs+=("r$r-b$i")
  done
done

op() { awk -v op="$2" -v q="$3" '$1 == op { for (i = 1; i <= NF; i++) if ($i == q) { v = $(i + 1); sub(/ms$/, "", v); print v } }' "$1"; }
field() { sed -n "s/^result .* $2=\([^ ]*\).*/\1/p" "$1"; }

{
  echo "Hot writes, $(machine_line);"
  echo "scenario writes of k6/scenarios.json at $RATE req/s offered, products 1..$PRODUCTS, ${WARMUP}s discarded then ${DURATION}s measured per run, $ROUNDS rounds, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown). Wait events: share of active-backend samples (every 200 ms)."
  echo
  echo "| round | binary | req/s achieved | errors | p50 ms | p99 ms | post p99 | helpful p99 | commonest waits |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---|"
  for run in "${runs[@]}"; do
    f=$tmp/$run.txt
    r=${run%%-*}
    i=${run##*-b}
    echo "| ${r#r} | ${binaries[i]} | $(field "$f" rps) | $(field "$f" errors) | $(field "$f" p50_ms) | $(field "$f" p99_ms) | $(op "$f" post p99) | $(op "$f" helpful p99) | $(waits "$tmp/$run.waits") |"
  done
} >"$tmp/table.md"
cat "$tmp/table.md"
[[ -z $OUT ]] || cp "$tmp/table.md" "$OUT"
