#!/usr/bin/env bash
# bench/etl.sh — times, in one run on one machine, (a) psql \copy of the four
# CSV files into bare unindexed tables and (b) `catwalk etl` end to end on the
# same files and the same PostgreSQL cluster, and prints both and their ratio,
# with the peak RSS of the etl process (/usr/bin/time -v).
#
# usage: bench/etl.sh [DIR]
#   DIR       the dataset (default .data/bench/full, as bench/cluster.sh); generated with
#             `catwalk gen --out DIR --products $PRODUCTS` when it has no reviews.csv
#   PRODUCTS  products to generate when DIR is empty (default 1000011, full scale)
#   PGPORT    port of the throwaway cluster this script starts (default 55432)
#   WAL_LEVEL the cluster's wal_level: replica (PostgreSQL's default) or minimal
#   PGDIR     where the throwaway cluster goes (default: a new /tmp/catwalk-bench-pg.*)
#   KEEP=1    leave the cluster running at the end (it is stopped and deleted otherwise)
#
# The cluster runs PostgreSQL's defaults (fsync on, wal_level=replica)
# except max_wal_size=8GB, so no load is slowed by a checkpoint every
# gigabyte. catwalk etl creates each table in the transaction that fills it
# (with wal_level=minimal that COPY writes no WAL); the script also times
# (a2), the bare \copy with its tables created in the same transaction, and
# prints the ratio to both.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${1:-.data/bench/full}
PRODUCTS=${PRODUCTS:-1000011}
PGPORT=${PGPORT:-55432}
BIN=${BIN:-bin/catwalk}
WAL_LEVEL=${WAL_LEVEL:-replica}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
AS=()
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); fi

CGO_ENABLED=0 go build -trimpath -o "$BIN" .

if [ ! -f "$DIR/reviews.csv" ]; then
	echo "== generating $PRODUCTS products into $DIR"
	/usr/bin/time -f "gen: %e s elapsed, %U s user, %S s system, peak RSS %M KiB" "$BIN" gen --out "$DIR" --products "$PRODUCTS"
fi
chmod o+rx "$DIR"
du -sh "$DIR"/*.csv

PGDATA=$(realpath -m "${PGDIR:-$(mktemp -d /tmp/catwalk-bench-pg.XXXXXX)}") # absolute: pg_ctl runs as postgres
mkdir -p "$PGDATA"
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
	-o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories='' -c max_wal_size=8GB -c timezone=UTC -c wal_level=$WAL_LEVEL$([ "$WAL_LEVEL" = minimal ] && echo ' -c max_wal_senders=0')" >/dev/null
URL="postgres://postgres@127.0.0.1:$PGPORT"
psql -q "$URL/postgres" -c "CREATE DATABASE bare" -c "CREATE DATABASE catwalk"

now() { date +%s.%N; }

# cpu prints the CPU seconds the cluster has used so far: every live server
# process, plus the exited backends the postmaster has reaped.
cpu() {
	local pm
	pm=$(head -1 "$PGDATA/data/postmaster.pid")
	{
		awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"
		for c in $(pgrep -P "$pm"); do awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || true; done
	} | awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.1f", s / hz}'
}

BARE_TABLES="
CREATE TABLE reviews (id integer, product_id integer, rating smallint, date bigint, summary text, body text,
  recommend boolean, reported boolean, reviewer_name text, reviewer_email text, response text, helpfulness integer);
CREATE TABLE reviews_photos (id integer, review_id integer, url text);
CREATE TABLE characteristics (id integer, product_id integer, name text);
CREATE TABLE characteristic_reviews (id integer, characteristic_id integer, review_id integer, value smallint);"

echo "== (a) psql \\copy into bare unindexed tables"
psql -q -v ON_ERROR_STOP=1 "$URL/bare" -c "$BARE_TABLES"
t0=$(now)
c0=$(cpu)
for t in reviews reviews_photos characteristics characteristic_reviews; do
	s=$(now)
	psql -q -v ON_ERROR_STOP=1 "$URL/bare" -c "\\copy $t FROM '$DIR/$t.csv' WITH (FORMAT csv, HEADER true)"
	printf '  %-24s %8.1f s\n' "$t" "$(echo "$(now) - $s" | bc)"
done
bare=$(echo "$(now) - $t0" | bc)
sleep 1 # let the postmaster reap the backends
barecpu=$(echo "$(cpu) - $c0" | bc)
psql -q "$URL/postgres" -c "DROP DATABASE bare" -c "CREATE DATABASE bare"

echo "== (a2) the same, with the tables created in the same transaction"
t0=$(now)
c0=$(cpu)
{
	echo "BEGIN;"
	echo "$BARE_TABLES"
	for t in reviews reviews_photos characteristics characteristic_reviews; do
		echo "\\copy $t FROM '$DIR/$t.csv' WITH (FORMAT csv, HEADER true)"
	done
	echo "COMMIT;"
} | psql -q -v ON_ERROR_STOP=1 "$URL/bare"
bare2=$(echo "$(now) - $t0" | bc)
sleep 1
bare2cpu=$(echo "$(cpu) - $c0" | bc)
printf '  %-24s %8.1f s\n' "all four" "$bare2"
psql -q "$URL/postgres" -c "DROP DATABASE bare"

echo "== (b) catwalk etl"
"$BIN" migrate -database-url "$URL/catwalk" >/dev/null
t0=$(now)
c0=$(cpu)
/usr/bin/time -v -o "$PGDATA/time.txt" "$BIN" etl -dir "$DIR" -database-url "$URL/catwalk" -rejects "$PGDATA/rejects"
etl=$(echo "$(now) - $t0" | bc)
sleep 1
etlcpu=$(echo "$(cpu) - $c0" | bc)
etlclient=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$PGDATA/time.txt")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$PGDATA/time.txt")

echo
echo "== results ($(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, wal_level=$WAL_LEVEL, $(date -u +%Y-%m-%dT%H:%MZ))"
printf '                                       wall s  server CPU s\n'
printf '(a)  bare \\copy:                      %8.1f %10.1f\n' "$bare" "$barecpu"
printf '(a2) bare \\copy, tables created in tx: %8.1f %10.1f\n' "$bare2" "$bare2cpu"
printf '(b)  catwalk etl:                      %8.1f %10.1f  (+ %.1f s CPU in catwalk)\n' "$etl" "$etlcpu" "$etlclient"
printf 'ratio (b)/(a):                        %8.2f (target <= 1.5)\n' "$(echo "$etl / $bare" | bc -l)"
printf 'ratio (b)/(a2):                       %8.2f\n' "$(echo "$etl / $bare2" | bc -l)"
printf 'etl peak RSS:                         %8.0f MiB (target <= 1024)\n' "$(echo "$rss / 1024" | bc -l)"
