#!/usr/bin/env bash
# bench/etl.sh — times, in one run on one machine, (a) psql \copy of the four
# CSV files into bare unindexed tables and (b) `catwalk etl` end to end on the
# same files and the same PostgreSQL cluster, and prints both and their ratio,
# with the peak RSS of the etl process (/usr/bin/time -v).
#
# usage: bench/etl.sh [DIR]
#   DIR       the dataset (default /work/data-full); generated with
#             `catwalk gen --out DIR --products $PRODUCTS` when it has no reviews.csv
#   PRODUCTS  products to generate when DIR is empty (default 1000011, full scale)
#   PGPORT    port of the throwaway cluster this script starts (default 55432)
#   KEEP=1    leave the cluster running at the end (it is stopped otherwise)
#
# The cluster runs PostgreSQL's defaults (fsync on, wal_level replica) except
# max_wal_size=8GB, so neither load is slowed by checkpoints every gigabyte.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${1:-/work/data-full}
PRODUCTS=${PRODUCTS:-1000011}
PGPORT=${PGPORT:-55432}
BIN=${BIN:-bin/catwalk}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
AS=()
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); fi

CGO_ENABLED=0 go build -trimpath -o "$BIN" .

if [ ! -f "$DIR/reviews.csv" ]; then
	echo "== generating $PRODUCTS products into $DIR"
	/usr/bin/time -f "gen: %e s elapsed, peak RSS %M KiB" "$BIN" gen --out "$DIR" --products "$PRODUCTS"
fi
chmod o+rx "$DIR"
du -sh "$DIR"/*.csv

PGDATA=$(mktemp -d /tmp/catwalk-bench-pg.XXXXXX)
chmod 755 "$PGDATA"
chown postgres "$PGDATA" 2>/dev/null || true
stop() {
	if [ "${KEEP:-0}" != 1 ]; then
		"${AS[@]}" "$PGBIN/pg_ctl" stop -D "$PGDATA/data" -m fast >/dev/null || true
		rm -rf "$PGDATA"
	else
		echo "cluster left running: $PGDATA/data on port $PGPORT"
	fi
}
trap stop EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$PGDATA/data" -U postgres --auth=trust >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" start -w -D "$PGDATA/data" -l "$PGDATA/log" \
	-o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories='' -c max_wal_size=8GB -c timezone=UTC" >/dev/null
URL="postgres://postgres@127.0.0.1:$PGPORT"
psql -q "$URL/postgres" -c "CREATE DATABASE bare" -c "CREATE DATABASE catwalk"

now() { date +%s.%N; }

echo "== (a) psql \\copy into bare unindexed tables"
psql -q -v ON_ERROR_STOP=1 "$URL/bare" <<'SQL'
CREATE TABLE reviews (id integer, product_id integer, rating smallint, date bigint, summary text, body text,
  recommend boolean, reported boolean, reviewer_name text, reviewer_email text, response text, helpfulness integer);
CREATE TABLE reviews_photos (id integer, review_id integer, url text);
CREATE TABLE characteristics (id integer, product_id integer, name text);
CREATE TABLE characteristic_reviews (id integer, characteristic_id integer, review_id integer, value smallint);
SQL
t0=$(now)
for t in reviews reviews_photos characteristics characteristic_reviews; do
	s=$(now)
	psql -q -v ON_ERROR_STOP=1 "$URL/bare" -c "\\copy $t FROM '$DIR/$t.csv' WITH (FORMAT csv, HEADER true)"
	printf '  %-24s %8.1f s\n' "$t" "$(echo "$(now) - $s" | bc)"
done
bare=$(echo "$(now) - $t0" | bc)
psql -q "$URL/postgres" -c "DROP DATABASE bare"

echo "== (b) catwalk etl"
"$BIN" migrate -database-url "$URL/catwalk" >/dev/null
t0=$(now)
/usr/bin/time -v -o "$PGDATA/time.txt" "$BIN" etl -dir "$DIR" -database-url "$URL/catwalk" -rejects "$PGDATA/rejects"
etl=$(echo "$(now) - $t0" | bc)
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$PGDATA/time.txt")

echo
echo "== results ($(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ))"
printf 'bare \\copy:   %8.1f s\n' "$bare"
printf 'catwalk etl:  %8.1f s\n' "$etl"
printf 'ratio:        %8.2f (target <= 1.5)\n' "$(echo "$etl / $bare" | bc -l)"
printf 'etl peak RSS: %8.0f MiB (target <= 1024)\n' "$(echo "$rss / 1024" | bc -l)"
