#!/usr/bin/env bash
# bench/helpful_key.sh — what an Idempotency-Key costs PUT …/helpful in
# PostgreSQL: pgbench -M prepared runs four scripts of bench/pgbench in
# alternating rounds on one database, so a busy machine weighs on all alike,
# and prints each script's median tps and the median per-round ratios:
#
#   helpful_bare.sql        UPDATE reviews SET helpfulness = helpfulness + 1, api_helpful = … WHERE id = …
#   helpful_keyed_bare.sql  the keyed statement without pg_notify
#   helpful_statement.sql   the service's statement for one unkeyed vote
#   helpful_keyed.sql       the service's statement for one keyed vote (key + vote)
#
# Every key is new (random, as NGINX's $request_id), so each keyed
# transaction inserts a key row and votes: the cost of every vote through
# NGINX, not of the rare retry.
#
# Usage: bench/helpful_key.sh            (a throwaway durable cluster under a temp dir)
#        DATABASE_URL=postgres://… bench/helpful_key.sh   (a migrated database on this machine)
#
# The throwaway cluster is durable (fsync and synchronous_commit on, as
# scripts/localdb starts it), so commits wait for the disk as in production.
# The seeded fixture (bench/pgbench/seed.sql) is added when missing; the run
# adds votes and keys to it.
#
# Environment (defaults in brackets):
#   DURATION  seconds per pgbench run [10]
#   CONNS     pgbench clients [8]
#   THREADS   pgbench threads [2]
#   ROUNDS    alternating rounds [5]
#   OUT       also write the table to this file
set -euo pipefail
SCRIPT=helpful_key.sh
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION=${DURATION:-10}
DURATION=${DURATION%s}
CONNS=${CONNS:-8}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
for tool in pgbench psql go; do
  command -v "$tool" >/dev/null || die "$tool is needed (pgbench and psql: apt-get install postgresql-client)"
done

if [[ -z ${DATABASE_URL:-} ]]; then
  chmod 755 "$tmp" # the cluster runs as postgres when we are root
  say "starting a durable throwaway cluster under $tmp"
  eval "$(go run ./scripts/localdb -data-dir "$tmp" -db bench start)"
  trap 'go run ./scripts/localdb -data-dir "$tmp" stop >&2 || true; cleanup' EXIT
  say "migrating"
  go run . migrate -database-url "$DATABASE_URL" >&2
fi
psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -f bench/pgbench/seed.sql >/dev/null
read -r lo hi < <(psql "$DATABASE_URL" -XAtqF ' ' -c \
  "SELECT min(id), max(id) FROM reviews WHERE product_id BETWEEN 5000001 AND 5001000 AND summary = 'seed'")
[[ -n $lo && -n $hi ]] || die "no seeded reviews"
psql "$DATABASE_URL" -XAtqc "SHOW fsync" | grep -qx on || say "warning: fsync is off on this database: the ratios measure CPU, not commits"

scripts=(helpful_bare helpful_keyed_bare helpful_statement helpful_keyed)
declare -A tps
for ((round = 1; round <= ROUNDS; round++)); do
  for s in "${scripts[@]}"; do
    out=$tmp/$s.$round.txt
    pgbench -n -M prepared -f "bench/pgbench/$s.sql" -D lo="$lo" -D hi="$hi" \
      -c "$CONNS" -j "$THREADS" -T "$DURATION" "$DATABASE_URL" >"$out" 2>&1 || {
      cat "$out" >&2
      die "pgbench $s failed"
    }
    tps[$s.$round]=$(awk '/^tps = / {printf "%.0f", $3; exit}' "$out")
    say "round $round: $s ${tps[$s.$round]} tps"
  done
done

med() { # med SCRIPT: the median tps of a script over the rounds
  local r v=()
  for ((r = 1; r <= ROUNDS; r++)); do v+=("${tps[$1.$r]}"); done
  median "${v[@]}"
}
medratio() { # medratio A B: the median of the per-round ratios A/B
  local r v=()
  for ((r = 1; r <= ROUNDS; r++)); do v+=("$(ratio "${tps[$1.$r]}" "${tps[$2.$r]}")"); done
  median "${v[@]}"
}

{
  echo "Machine: $(machine_line); pgbench -M prepared -c $CONNS -j $THREADS, $ROUNDS alternating rounds of ${DURATION}s; fsync $(psql "$DATABASE_URL" -XAtqc 'SHOW fsync'), synchronous_commit $(psql "$DATABASE_URL" -XAtqc 'SHOW synchronous_commit')"
  echo
  echo "| script | median tps |"
  echo "|---|---:|"
  for s in "${scripts[@]}"; do echo "| \`$s.sql\` | $(med "$s") |"; done
  echo
  echo "| ratio (median of per-round ratios) | |"
  echo "|---|---:|"
  echo "| keyed / bare, without pg_notify (\`helpful_keyed_bare\` / \`helpful_bare\`) | $(medratio helpful_keyed_bare helpful_bare) |"
  echo "| keyed / unkeyed, the service's statements (\`helpful_keyed\` / \`helpful_statement\`) | $(medratio helpful_keyed helpful_statement) |"
  echo "| keyed service statement / bare UPDATE (\`helpful_keyed\` / \`helpful_bare\`) | $(medratio helpful_keyed helpful_bare) |"
} | tee "${OUT:-/dev/null}"
