#!/usr/bin/env bash
# scripts/faults/drills.sh — bounded fault drills on this machine (issue 12),
# each under the `mixed` load of bench/load through three `catwalk serve`
# instances behind NGINX (the repository's nginx.conf, only its listen and
# server lines changed), each printing its figures: requests failed by
# status, the slowest answers, how long requests kept failing after the
# fault ended, and the durability count of every write the load made
# (scripts/faults/count).
#
# Usage: scripts/faults/drills.sh [drill…]        (make faults)
#
# Drills, in this order by default:
#   kill9       kill -9 one instance, then start it again
#   rolling     rolling restart: each instance SIGTERM, exit, start, ready, next
#   pg-restart  PostgreSQL immediate stop, 2 s down, start
#   pg-freeze   PostgreSQL frozen for 7 s (SIGSTOP on the postmaster and its children)
#   listener    the instances' LISTEN connections terminated (pg_terminate_backend)
#   etl         `catwalk etl` of the served dataset's files again, while serving
#   etl-full    `catwalk etl` of a dirty dataset with its rejects on a 64 KiB
#               tmpfs (read-only directory when not root): it must fail, and the
#               served tables stay the same
#
# Everything runs on 127.0.0.1 and under FAULTS_DIR: a PostgreSQL cluster of
# its own (created, migrated and loaded with a generated dataset on first
# use, kept between runs), the instances, NGINX, and one directory per run
# with each drill's load output, record, events and figures. Every process
# the script starts is stopped when it ends, whatever happens (a frozen
# PostgreSQL is resumed, a tmpfs unmounted); the cluster's data stays.
#
# Environment (defaults in brackets):
#   FAULTS_DIR   where everything lives [.data/faults]
#   PG_PORT      its PostgreSQL [56432]
#   NGINX_PORT   NGINX [28080]
#   API_PORTS    the three instances ["23001 23002 23003"]
#   PRODUCTS     products of the generated dataset [20000]
#   RATE         requests/s of the mixed load [the scenario's, 1500]
#   LEAD         seconds of load before the fault [8]
#   TIMEOUT      the load's per-request timeout in seconds, above NGINX's own
#                (10 s), so that the service's timeouts are what is measured [15]
#   HELPFUL_KEYS 1: every PUT …/helpful carries its own Idempotency-Key; 0: none [1]
#   OUT          also write the table of figures (Markdown) to this file
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="/usr/local/go/bin:$PATH"

FAULTS_DIR=${FAULTS_DIR:-$ROOT/.data/faults}
PG_PORT=${PG_PORT:-56432}
NGINX_PORT=${NGINX_PORT:-28080}
read -r -a API_PORTS <<<"${API_PORTS:-23001 23002 23003}"
PRODUCTS=${PRODUCTS:-20000}
RATE=${RATE:-}
LEAD=${LEAD:-8}
TIMEOUT=${TIMEOUT:-15}
HELPFUL_KEYS=${HELPFUL_KEYS:-1}
OUT=${OUT:-}
ALL_DRILLS=(kill9 rolling pg-restart pg-freeze listener etl etl-full)

say() { printf 'faults: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

for v in PG_PORT NGINX_PORT PRODUCTS LEAD TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ -z $RATE || $RATE =~ ^[1-9][0-9]*$ ]] || die "RATE must be a positive integer, got '$RATE'"
((${#API_PORTS[@]} == 3)) || die "API_PORTS must name three ports"
drills=("$@")
((${#drills[@]})) || drills=("${ALL_DRILLS[@]}")
for d in "${drills[@]}"; do
  [[ " ${ALL_DRILLS[*]} " == *" $d "* ]] || die "unknown drill '$d' (have: ${ALL_DRILLS[*]})"
done

mkdir -p "$FAULTS_DIR"
FAULTS_DIR=$(cd "$FAULTS_DIR" && pwd)
PGDATA=$FAULTS_DIR/pg
BIN=$FAULTS_DIR/bin
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RUNS=$FAULTS_DIR/runs/$STAMP
LOGS=$RUNS/logs
mkdir -p "$BIN" "$LOGS"
DB_URL="postgres://postgres@127.0.0.1:$PG_PORT/catwalk?sslmode=disable"
ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
BASE_URL="http://127.0.0.1:$NGINX_PORT"

# --- cleanup: everything this run started, whatever happened ----------------

pg_started=0
frozen=()
mounted=""
chmodded=""
load_pid=""
declare -A api_pid=()
nginx_pid=""

cleanup() {
  local pid i
  set +e
  if ((${#frozen[@]})); then
    say "resuming the frozen PostgreSQL"
    kill -CONT "${frozen[@]}" 2>/dev/null
  fi
  [[ -n $mounted ]] && umount "$mounted" 2>/dev/null
  [[ -n $chmodded ]] && chmod 755 "$chmodded" 2>/dev/null
  [[ -n $load_pid ]] && kill -TERM "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
  [[ -n $nginx_pid ]] && kill -QUIT "$nginx_pid" 2>/dev/null
  for i in "${!api_pid[@]}"; do kill -TERM "${api_pid[$i]}" 2>/dev/null; done
  for pid in "${api_pid[@]}" $nginx_pid; do
    for ((i = 0; i < 150; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if ((pg_started)); then
    as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 && say "stopped PostgreSQL"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- PostgreSQL --------------------------------------------------------------

# as_pg CMD…: as the postgres user when root (PostgreSQL refuses root).
as_pg() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

psql_db() { psql "$DB_URL" -XAtq -v ON_ERROR_STOP=1 "$@"; }

pg_start() {
  if [[ ! -f $PGDATA/PG_VERSION ]]; then
    say "creating the PostgreSQL cluster in $PGDATA"
    mkdir -p "$PGDATA"
    ((EUID == 0)) && chown postgres "$PGDATA"
    chmod 700 "$PGDATA"
    as_pg initdb -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C >"$LOGS/initdb.log" 2>&1 ||
      die "initdb failed; see $LOGS/initdb.log"
    cat >>"$PGDATA/postgresql.conf" <<EOF
# scripts/faults/drills.sh: loopback TCP only, durable commits.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
fsync = on
synchronous_commit = on
EOF
  fi
  if ((EUID == 0)); then
    touch "$FAULTS_DIR/pg.log"
    chown postgres "$FAULTS_DIR/pg.log"
  fi
  port_free "$PG_PORT" || die "port $PG_PORT is in use"
  as_pg pg_ctl -D "$PGDATA" -l "$FAULTS_DIR/pg.log" -w -t 60 start >/dev/null || die "PostgreSQL did not start; see $FAULTS_DIR/pg.log"
}

pg_pid() { head -1 "$PGDATA/postmaster.pid"; }

setup_database() {
  if as_pg pg_ctl -D "$PGDATA" status >/dev/null 2>&1; then
    # Left running by a run that was killed: take it over (and stop it).
    say "reusing the PostgreSQL already running on $PGDATA"
  else
    pg_start
  fi
  pg_started=1
  if [[ $(psql "$ADMIN_URL" -XAtqc "SELECT count(*) FROM pg_database WHERE datname = 'catwalk'") == 0 ]]; then
    psql "$ADMIN_URL" -XAtqc "CREATE DATABASE catwalk" >/dev/null
  fi
  "$BIN/catwalk" migrate -database-url "$DB_URL" >"$LOGS/migrate.log" 2>&1 || die "migrate failed; see $LOGS/migrate.log"
  if [[ ! -f $FAULTS_DIR/data/reviews.csv ]]; then
    say "generating $PRODUCTS products into $FAULTS_DIR/data"
    "$BIN/catwalk" gen --out "$FAULTS_DIR/data" --products "$PRODUCTS" --seed 12 >"$LOGS/gen.log" 2>&1 || die "gen failed"
  fi
  if [[ ! -f $FAULTS_DIR/dirty/reviews.csv ]]; then
    "$BIN/catwalk" gen --out "$FAULTS_DIR/dirty" --products "$PRODUCTS" --seed 12 --dirty 0.01 >"$LOGS/gen-dirty.log" 2>&1 || die "gen failed"
  fi
  if [[ $(psql_db -c "SELECT count(*) FROM reviews") == 0 ]]; then
    say "loading the generated dataset"
    "$BIN/catwalk" etl --dir "$FAULTS_DIR/data" --database-url "$DB_URL" >"$LOGS/etl-initial.log" 2>&1 ||
      die "etl failed; see $LOGS/etl-initial.log"
  fi
}

# --- instances and NGINX ----------------------------------------------------

wait_ready() { # url seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_api() { # index 0..2
  local i=$1
  DATABASE_URL=$DB_URL PORT=${API_PORTS[i]} "$BIN/catwalk" serve >>"$LOGS/api$((i + 1)).log" 2>&1 &
  api_pid[$i]=$!
}

wait_api() { # index
  wait_ready "http://127.0.0.1:${API_PORTS[$1]}/readyz" 60 || die "instance $(($1 + 1)) on :${API_PORTS[$1]} not ready in 60s; see $LOGS/api$(($1 + 1)).log"
}

# stop_api index signal: signals the instance and waits for it to exit.
stop_api() {
  local pid=${api_pid[$1]}
  kill -"$2" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# ensure_apis: every instance running and ready (a drill may leave one down).
ensure_apis() {
  local i
  for i in 0 1 2; do
    if [[ -z ${api_pid[$i]:-} ]] || ! kill -0 "${api_pid[$i]}" 2>/dev/null; then
      start_api "$i"
    fi
  done
  for i in 0 1 2; do wait_api "$i"; done
}

# nginx_conf: ./nginx.conf as scripts/cluster.sh derives it for this
# machine (listen and server lines, 127.0.0.1 exempt from the per-client
# limits): one derivation for make cluster, the benchmarks and the drills.
nginx_conf() {
  "$ROOT/scripts/cluster.sh" nginx-conf "$NGINX_PORT" "${API_PORTS[@]}"
}

start_nginx() {
  local ng conf=$RUNS/nginx
  ng=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x $ng ]] || die "nginx is missing (apt-get install nginx)"
  mkdir -p "$conf"
  chmod 755 "$conf"
  nginx_conf >"$conf/nginx.conf"
  grep -q "listen 127.0.0.1:$NGINX_PORT;" "$conf/nginx.conf" || die "nginx.conf: no 'listen 8080;' line to replace"
  "$ng" -p "$conf" -c "$conf/nginx.conf" -g "daemon off; pid $conf/nginx.pid;" >"$LOGS/nginx.log" 2>&1 &
  nginx_pid=$!
  wait_ready "$BASE_URL/healthz" 30 || die "nginx did not start; see $LOGS/nginx.log"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- one drill ----------------------------------------------------------------

# note NAME: the moment NAME (fault, back) in the drill's events.
note() { echo "$(date +%s%6N) $1" >>"$dir/events"; }

# start_load SECONDS: the mixed load in the background, recorded; returns
# once its setup is done and the timed run has begun.
start_load() {
  local args=(-scenarios k6/scenarios.json -scenario mixed -base-url "$BASE_URL" -products "$PRODUCTS"
    -duration "$1s" -timeout "${TIMEOUT}s" -p99 10s -max-error-rate 1 -record "$dir/record.jsonl" -run-id "$run_id")
  [[ -n $RATE ]] && args+=(-rate "$RATE")
  [[ $HELPFUL_KEYS == 1 ]] && args+=(-helpful-keys)
  "$BIN/load" "${args[@]}" >"$dir/load.txt" 2>&1 &
  load_pid=$!
  local i
  for ((i = 0; i < 600; i++)); do
    grep -qs '^scenario ' "$dir/load.txt" && return 0
    kill -0 "$load_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/load.txt" >&2
  die "$drill: the load did not start"
}

wait_load() {
  local rc=0
  wait "$load_pid" || rc=$?
  load_pid=""
  ((rc == 0 || rc == 99)) || {
    cat "$dir/load.txt" >&2
    die "$drill: bench/load failed (exit $rc)"
  }
}

# extra KEY=VALUE: a figure of the drill itself, into its result line.
extra() { echo "$1" >>"$dir/extra"; }

drill_kill9() {
  start_load 25
  sleep "$LEAD"
  note fault
  say "kill -9 instance 2 (pid ${api_pid[1]})"
  stop_api 1 KILL
  sleep 2
  start_api 1
  wait_api 1
  wait_load
}

drill_rolling() {
  start_load 45
  sleep "$LEAD"
  note fault
  local i
  for i in 0 1 2; do
    say "rolling restart: instance $((i + 1))"
    stop_api "$i" TERM
    start_api "$i"
    wait_api "$i"
  done
  note back
  wait_load
}

drill_pg-restart() {
  start_load 30
  sleep "$LEAD"
  note fault
  say "PostgreSQL: immediate stop"
  as_pg pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null
  sleep 2
  as_pg pg_ctl -D "$PGDATA" -l "$FAULTS_DIR/pg.log" -w -t 60 start >/dev/null || die "PostgreSQL did not start again"
  note back # pg_ctl -w returns once it accepts connections
  say "PostgreSQL accepts connections again"
  wait_load
}

drill_pg-freeze() {
  start_load 30
  sleep "$LEAD"
  local pm
  pm=$(pg_pid)
  frozen=("$pm")
  kill -STOP "$pm" # first, so it starts no new child while the others stop
  note fault
  mapfile -t -O 1 frozen < <(pgrep -P "$pm")
  kill -STOP "${frozen[@]:1}"
  say "PostgreSQL frozen (${#frozen[@]} processes) for 7s"
  sleep 7
  kill -CONT "${frozen[@]:1}"
  kill -CONT "$pm"
  frozen=()
  note back
  wait_load
}

# reconnects: each instance's catwalk_listener_reconnects_total, comma-separated.
reconnects() {
  local p out=()
  for p in "${API_PORTS[@]}"; do
    out+=("$(curl -fsS --max-time 2 "http://127.0.0.1:$p/metrics" | awk '$1 == "catwalk_listener_reconnects_total" {print $2}')")
  done
  local IFS=,
  echo "${out[*]}"
}

drill_listener() {
  start_load 25
  sleep "$LEAD"
  local before
  before=$(reconnects)
  note fault
  local n
  # pg_stat_activity shows the last statement a backend ran: a listener's
  # is its LISTEN, or pgx's "-- ping" once it has been idle for a second
  # (notifications do not change it). A pool connection shows "-- ping"
  # only for the instant between a ping and its next statement.
  n=$(psql_db -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'
      AND (query ILIKE 'listen %' OR query = '-- ping' OR application_name ILIKE '%listen%')")
  say "terminated $n LISTEN connections (one per instance expected)"
  extra "terminated=$n"
  wait_load
  # Each instance should have noticed and listened again.
  extra "reconnects_before=$before"
  extra "reconnects_after=$(reconnects)"
}

# served_oid: the served reviews table's oid, changed by every switch-over.
served_oid() { psql_db -c "SELECT 'reviews'::regclass::oid"; }
# file_reviews: the served reviews not posted by the load (the dataset's).
file_reviews() { psql_db -c "SELECT count(*) FROM reviews WHERE reviewer_name NOT LIKE 'load-%'"; }

drill_etl() {
  start_load 40
  sleep "$LEAD"
  local before rc=0
  before=$(served_oid)
  note fault
  say "catwalk etl of $FAULTS_DIR/data while serving"
  "$BIN/catwalk" etl --dir "$FAULTS_DIR/data" --database-url "$DB_URL" >"$dir/etl.log" 2>&1 || rc=$?
  note back
  extra "etl_exit=$rc"
  if [[ $(served_oid) != "$before" ]]; then
    extra "switched=yes"
  else
    extra "switched=no"
  fi
  wait_load
}

drill_etl-full() {
  local rejects=$FAULTS_DIR/tiny-rejects rc=0 oid reviews
  mkdir -p "$rejects"
  if ((EUID == 0)) && mount -t tmpfs -o size=64k tmpfs "$rejects" 2>/dev/null; then
    mounted=$rejects
    extra "rejects=tmpfs_64KiB"
  else
    chmod 555 "$rejects"
    chmodded=$rejects
    extra "rejects=read-only"
  fi
  start_load 30
  sleep "$LEAD"
  oid=$(served_oid)
  reviews=$(file_reviews)
  note fault
  say "catwalk etl of a dirty dataset, rejects to a full or read-only directory"
  "$BIN/catwalk" etl --dir "$FAULTS_DIR/dirty" --rejects "$rejects" --database-url "$DB_URL" >"$dir/etl.log" 2>&1 || rc=$?
  note back
  extra "etl_exit=$rc"
  tail -3 "$dir/etl.log" | sed 's/^/  etl: /' >&2
  if [[ $(served_oid) == "$oid" && $(file_reviews) == "$reviews" ]]; then
    extra "served_unchanged=yes"
  else
    extra "served_unchanged=NO"
  fi
  wait_load
  if [[ -n $mounted ]]; then
    umount "$mounted"
    mounted=""
  fi
  if [[ -n $chmodded ]]; then
    chmod 755 "$chmodded"
    chmodded=""
  fi
}

# run_drill N DRILL: the N-th drill of this run (a drill may be repeated:
# each run of it has its own directory and run id, so its own keys).
run_drill() {
  drill=$2
  run_id=$drill-$STAMP-$1
  dir=$RUNS/$1-$drill
  mkdir -p "$dir"
  : >"$dir/events"
  : >"$dir/extra"
  ensure_apis
  "$BIN/count" snapshot -database-url "$DB_URL" -out "$dir/before.csv"
  say "--- drill $drill"
  "drill_$drill"
  ensure_apis # the count reads the database the drill may have just restarted
  grep -E '^(requests|outcomes|latency|result) ' "$dir/load.txt" | sed "s/^/  load: /" >&2
  "$BIN/count" -database-url "$DB_URL" -record "$dir/record.jsonl" -before "$dir/before.csv" \
    -events "$dir/events" -drill "$drill" >"$dir/count.txt"
  local line
  line="$(tail -1 "$dir/count.txt") $(paste -sd' ' "$dir/extra")"
  sed '$d' "$dir/count.txt"
  echo "${line% }" >>"$RUNS/results.txt"
}

# --- main ---------------------------------------------------------------------

# The commit the binaries are built from, for the figures.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
for p in "${API_PORTS[@]}" "$NGINX_PORT"; do
  port_free "$p" || die "port $p is in use (a drill run killed with -9 leaves its instances and NGINX running)"
done
command -v psql >/dev/null || die "psql is missing (apt-get install postgresql-client)"
say "building into $BIN"
CGO_ENABLED=0 go build -trimpath -o "$BIN/catwalk" .
go build -o "$BIN/load" ./bench/load
go build -o "$BIN/count" ./scripts/faults/count
setup_database
ensure_apis
start_nginx
say "PostgreSQL :$PG_PORT, instances ${API_PORTS[*]}, NGINX $BASE_URL; run $RUNS"

: >"$RUNS/results.txt"
for i in "${!drills[@]}"; do
  run_drill "$((i + 1))" "${drills[i]}"
done

# field LINE KEY: a value of a result line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

{
  printf 'Fault drills, %s, %s cores (%s), %s; commit %s.\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
    "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)" "$commit"
  printf 'Load: scenario mixed of k6/scenarios.json at %s req/s through NGINX to three instances, products 1..%s; helpful keys %s.\n\n' \
    "${RATE:-1500}" "$PRODUCTS" "$([[ $HELPFUL_KEYS == 1 ]] && echo on || echo off)"
  echo "| drill | requests | failed (op:status:n) | reads failed | p99 / max ms | over 1 s | recovery s | POST lost / twice / stored but told failure | votes lost / twice / counted from failures | notes |"
  echo "|---|---:|---|---:|---:|---:|---:|---|---|---|"
  while read -r line; do
    notes=$(sed -n 's/.* votes_twice=[^ ]*//p' <<<"$line")
    printf '| %s | %s | %s (%s%%) %s | %s | %s / %s | %s | %s | %s / %s / %s | %s / %s / %s |%s |\n' \
      "$(field "$line" drill)" "$(field "$line" requests)" "$(field "$line" failed)" "$(field "$line" failed_pct)" \
      "$(field "$line" failed_by | sed 's/,/ /g')" "$(field "$line" failed_reads)" \
      "$(field "$line" p99_ms)" "$(field "$line" max_ms)" "$(field "$line" over_1s)" "$(field "$line" recovery_s)" \
      "$(field "$line" post_missing)" "$(field "$line" post_twice)" "$(field "$line" post_told_failure)" \
      "$(field "$line" votes_lost)" "$(field "$line" votes_twice)" "$(field "$line" votes_told_failure)" "$notes"
  done <"$RUNS/results.txt"
} >"$RUNS/table.md"
cat "$RUNS/table.md"
[[ -z $OUT ]] || cp "$RUNS/table.md" "$OUT"
say "figures and logs: $RUNS"
