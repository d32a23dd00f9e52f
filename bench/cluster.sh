#!/usr/bin/env bash
# bench/cluster.sh — the capacity of the deployment: three `catwalk serve`
# behind NGINX (the repository's nginx.conf, through scripts/cluster.sh) on
# a full-scale database, under open-loop load from bench/load (issue 10).
#
# Usage: [DATABASE_URL=postgres://…] bench/cluster.sh [--noisy]   (make bench-cluster)
#
# Parts (PARTS, default "capacity baseline writes"; --noisy or NOISY=1 adds "noisy"):
#   capacity  for each mix of MIXES ("mixed shop"): a fresh cluster, a
#             warm-up (bench/load -warm: every product of the mix's hot set
#             read once per cache key, as caches are after a while of
#             serving; shop's hot set is 50,000 products, 200,000 keys) and
#             WARMUP at the first rate (discarded), then each rate of RATES for
#             STEP_DURATION, stopping the mix at the first step whose p99 is
#             P99_LIMIT_MS (100) or more or whose share of errors is over
#             MAX_ERROR_RATE (0.001).
#   baseline  the bare tool's capacity on this machine, the yardstick of
#             `shop`: NGINX from nginx.conf in front of three bench/baseline
#             servers (a fixed JSON body of BASELINE_SIZE, 1158 bytes; no
#             database), under the reads of `shop` (list and meta at their
#             weights, bench/load -ops list,meta) at the same rising RATES,
#             reported as the mix `baseline_shop_reads`. Then the yardstick
#             of `mixed`: pgbench alone with the bare statements
#             (bench/pgbench/list.sql, meta.sql, post_bare.sql,
#             helpful_bare.sql at mixed's weights 700/300/250/250; POSTs
#             and votes on a random thousand products and review ids) at the
#             same rising rates (-R, 64 clients, -L P99_LIMIT_MS), stopping
#             at the first rate where more than 1 % of transactions were
#             late (p99 over the limit) or skipped, or any failed. Last,
#             the HTTP path's write yardstick: part writes' closed-loop
#             PUT …/helpful against the fixed-body servers (which answer a
#             PUT 204), reported as `baseline-put`.
#   writes    pgbench with the bare write statements (bench/pgbench/
#             helpful_bare.sql, post_bare.sql: no notification) and then
#             PUT …/helpful and POST /reviews alone through the cluster,
#             closed loop, all at WRITE_CONNS (32) connections for
#             WRITE_DURATION, each after a discarded WRITE_WARMUP; the ratios
#             are the issue's write targets (≥ 0.60 and ≥ 0.50). While each
#             runs, the database's wait events are sampled every 200 ms
#             (RESULTS/waits-OP.txt, the commonest five in the report).
#   noisy     `mixed` at NOISY_RATE (1500) req/s for NOISY_DURATION while a
#             busy loop this script starts (and stops, and bounds with
#             timeout) keeps one core busy; after a WARMUP without it and
#             the same run without it (`noisy-quiet`): the cores the
#             deployment needs at that rate on its own.
#
# CPU: every bench/load and pgbench run records how many of the machine's
# cores were busy meanwhile, in all (/proc/stat) and by kind of process
# (PostgreSQL, the instances, NGINX, the load generator, pgbench, the busy
# loop; from /proc/PID/stat and /usr/bin/time) in RESULTS/NAME.cpu; the
# report prints them beside each run. The backends of pgbench's own
# connections end with it, so for pgbench runs only the machine's total and
# pgbench's share are known.
#
# The database: DATABASE_URL names a migrated (or migratable), loaded
# database on this machine that the runs may write to (every POST adds a
# review, reports hide reviews for good: use one you can reload). Without
# it, the script starts (or reuses) a durable cluster of its own under
# PG_DIR (.data/bench/pg) on PG_PORT (55432) with shared_buffers
# SHARED_BUFFERS (2GB), max_wal_size MAX_WAL_SIZE (8GB) and
# checkpoint_timeout CHECKPOINT_TIMEOUT (15min) — PostgreSQL's defaults (1GB,
# 5min) start a checkpoint every few tens of seconds of these write runs,
# and each one's full-page writes stall every writer and pgbench alike for
# a while; a write-heavy production server is tuned the same way — and,
# when its database holds no reviews, generates
# the full-scale dataset into DATA_DIR (.data/bench/full, 2.9 GB; kept for
# next time) with `catwalk gen` and loads it with `catwalk etl`. That
# cluster is left running for the next run; stop it with
#   go run ./scripts/localdb -dir .data/bench/pg stop
#
# Results: every run's bench/load -json and report under RESULTS
# (.data/bench/cluster-results/<UTC time>), the Markdown section on stdout
# and in RESULTS/cluster.md, inserted into BENCHMARKS_MD (BENCHMARKS.md;
# set it empty to only print) after the marker line of its "Cluster"
# section, and the latency-over-rate plot at PLOT (bench/results/
# cluster-<UTC time>.svg when inserting, RESULTS/cluster.svg otherwise).
#
# Other settings: NGINX_PORT (18080), API_PORTS ("13001 13002 13003"),
# PRODUCTS (the largest product id), MAX_IN_FLIGHT (per step: 200 ms of
# requests, within 1,000..10,000), THREADS (pgbench's, 2). Settings of the
# instances (DB_MAX_CONNS, DB_READ_PIPELINES, …) pass through the
# environment. Exit status 0 when every run completed (the Markdown says
# which targets were met), 1 on failure.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

SCRIPT=cluster.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

STAMP=$(date -u +%Y%m%d-%H%M%S)
PARTS=${PARTS:-"capacity baseline writes"}
for a in "$@"; do
  case $a in
    --noisy) NOISY=1 ;;
    *) die "unknown argument '$a' (usage: bench/cluster.sh [--noisy])" ;;
  esac
done
[[ ${NOISY:-0} == 1 && " $PARTS " != *" noisy "* ]] && PARTS="$PARTS noisy"
MIXES=${MIXES:-"mixed shop"}
RATES=${RATES:-"1000 2000 5000 10000 20000 50000 100000"}
STEP_DURATION=${STEP_DURATION:-30s}
WARMUP=${WARMUP:-10s}
P99_LIMIT_MS=${P99_LIMIT_MS:-100}
MAX_ERROR_RATE=${MAX_ERROR_RATE:-0.001}
WRITE_CONNS=${WRITE_CONNS:-32}
WRITE_DURATION=${WRITE_DURATION:-20s}
WRITE_WARMUP=${WRITE_WARMUP:-5s}
NOISY_RATE=${NOISY_RATE:-1500}
NOISY_DURATION=${NOISY_DURATION:-60s}
NGINX_PORT=${NGINX_PORT:-18080}
API_PORTS=${API_PORTS:-"13001 13002 13003"}
THREADS=${THREADS:-2}
PG_DIR=${PG_DIR:-.data/bench/pg}
PG_PORT=${PG_PORT:-55432}
SHARED_BUFFERS=${SHARED_BUFFERS:-2GB}
MAX_WAL_SIZE=${MAX_WAL_SIZE:-8GB}
CHECKPOINT_TIMEOUT=${CHECKPOINT_TIMEOUT:-15min}
DATA_DIR=${DATA_DIR:-.data/bench/full}
RESULTS=${RESULTS:-.data/bench/cluster-results/$STAMP}
BENCHMARKS_MD=${BENCHMARKS_MD-BENCHMARKS.md}
if [[ -z ${PLOT:-} ]]; then
  if [[ -n $BENCHMARKS_MD ]]; then PLOT=bench/results/cluster-$STAMP.svg; else PLOT=$RESULTS/cluster.svg; fi
fi
CLUSTER_DIR=$PWD/.data/bench/cluster

# seconds D: a Go duration of whole seconds ("30s", "1m") in seconds.
seconds() {
  case $1 in
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
for v in STEP_DURATION WARMUP WRITE_DURATION WRITE_WARMUP NOISY_DURATION; do
  [[ ${!v} =~ ^[1-9][0-9]*[sm]?$ ]] || die "$v must be whole seconds or minutes (30s, 2m), got '${!v}'"
done
for v in WRITE_CONNS NOISY_RATE NGINX_PORT THREADS PG_PORT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for r in $RATES; do
  [[ $r =~ ^[1-9][0-9]*$ ]] || die "RATES must be positive integers, got '$r'"
done
for p in $PARTS; do
  [[ $p == capacity || $p == baseline || $p == writes || $p == noisy ]] || die "PARTS: unknown part '$p' (capacity, baseline, writes, noisy)"
done

cluster_up=0
busy_pid=
bench_cleanup() {
  if [[ -n $busy_pid ]]; then kill -TERM "$busy_pid" 2>/dev/null || true; fi
  if ((cluster_up)); then stop_cluster; fi
  cleanup
}
trap bench_cleanup EXIT

need_tools
mkdir -p "$RESULTS"

# The database: given, or the script's own full-scale one.
generated=0
if [[ -z ${DATABASE_URL:-} ]]; then
  say "no DATABASE_URL: using the full-scale cluster under $PG_DIR (port $PG_PORT)"
  out=$(go run ./scripts/localdb -dir "$PG_DIR" -port "$PG_PORT" -set "shared_buffers=$SHARED_BUFFERS" \
    -set "max_wal_size=$MAX_WAL_SIZE" -set "checkpoint_timeout=$CHECKPOINT_TIMEOUT" start) ||
    die "cannot start the cluster under $PG_DIR"
  DATABASE_URL=$(sed -n 's/^DATABASE_URL=//p' <<<"$out")
  CGO_ENABLED=0 go build -trimpath -o bin/catwalk .
  bin/catwalk migrate -database-url "$DATABASE_URL" >&2 || die "catwalk migrate failed"
  if [[ $(psql "$DATABASE_URL" -XAtqc "SELECT EXISTS (SELECT FROM reviews)") != t ]]; then
    if [[ ! -f $DATA_DIR/reviews.csv ]]; then
      say "generating the full-scale dataset into $DATA_DIR"
      bin/catwalk gen --out "$DATA_DIR" >&2 || die "catwalk gen failed"
    fi
    say "loading $DATA_DIR"
    bin/catwalk etl --dir "$DATA_DIR" --database-url "$DATABASE_URL" >&2 || die "catwalk etl failed"
  fi
  generated=1
fi
export DATABASE_URL
check_database
go build -o "$tmp/load" ./bench/load
go build -o "$tmp/clusterreport" ./bench/clusterreport
base="http://127.0.0.1:$NGINX_PORT"

# start_cluster [BACKEND]: three instances (catwalk, or baseline: the
# fixed-body servers) behind NGINX.
start_cluster() {
  local backend=${1:-catwalk}
  say "starting three $backend instances on ${API_PORTS} and NGINX on :$NGINX_PORT"
  for p in $NGINX_PORT $API_PORTS; do
    port_free "$p" || die "port $p is in use; set NGINX_PORT and API_PORTS"
  done
  cluster_up=1
  CLUSTER_BACKEND=$backend BASELINE_SIZE=${BASELINE_SIZE:-1158} \
    CLUSTER_DIR=$CLUSTER_DIR NGINX_PORT=$NGINX_PORT API_PORTS=$API_PORTS DATABASE_URL=$DATABASE_URL \
    scripts/cluster.sh start >/dev/null || die "scripts/cluster.sh start failed; logs in $CLUSTER_DIR"
}

stop_cluster() {
  CLUSTER_DIR=$CLUSTER_DIR scripts/cluster.sh stop 2>/dev/null || say "scripts/cluster.sh stop failed"
  cluster_up=0
}

# cpu_snap FILE: the CPU time used so far by every process (utime + stime
# of /proc/PID/stat, in clock ticks) as "pid comm ticks" lines, and the
# machine's busy and total ticks over all CPUs (/proc/stat) as one
# "machine busy total" line: the before and after of cpu_use.
cpu_snap() {
  local f line rest comm t
  {
    awk '/^cpu / {busy = $2 + $3 + $4 + $7 + $8 + $9; print "machine", busy, busy + $5 + $6; exit}' /proc/stat
    for f in /proc/[0-9]*/stat; do
      read -r line 2>/dev/null <"$f" || continue # gone meanwhile
      comm=${line#*(}
      comm=${comm%)*}
      rest=${line##*) }
      read -ra t <<<"$rest"
      echo "${f//[^0-9]/} ${comm// /_} $((t[11] + t[12]))"
    done
  } >"$1"
}

# cpu_use BEFORE AFTER [KIND=SECONDS…]: how many of the machine's cores
# ("cores N") were busy between two cpu_snap files, in all ("machine") and
# by kind of process
# (postgres, catwalk, nginx, load, pgbench, baseline; busy for the pid in
# BUSY_PID, the noisy neighbour's loop; other), as "kind cores" lines. A
# process that ended in between is missing from AFTER: its CPU time comes
# as KIND=SECONDS (measured by /usr/bin/time).
cpu_use() {
  local before=$1 after=$2
  shift 2
  awk -v hz="$(getconf CLK_TCK)" -v ncpu="$(nproc)" -v busy_pid="${busy_pid:-x}" -v extra="$*" '
    function kind(pid, comm) {
      if (pid == busy_pid) return "busy"
      if (comm ~ /^(postgres|catwalk|nginx|load|pgbench|baseline)$/) return comm
      return "other"
    }
    FNR == NR { if ($1 == "machine") { b0 = $2; t0 = $3 } else was[$1] = $3; next }
    $1 == "machine" { b1 = $2; t1 = $3; next }
    { use[kind($1, $2)] += $3 - ($1 in was ? was[$1] : 0) }
    END {
      secs = (t1 - t0) / hz / ncpu
      if (secs <= 0) exit 1
      printf "cores %d\nmachine %.2f\n", ncpu, ncpu * (b1 - b0) / (t1 - t0)
      n = split(extra, e, " ")
      for (i = 1; i <= n; i++) { split(e[i], kv, "="); use[kv[1]] += kv[2] * hz }
      for (k in use) if (use[k] > 0) printf "%s %.2f\n", k, use[k] / hz / secs
    }' "$before" "$after"
}

# timed NAME KIND CMD…: runs CMD, writing how many cores each kind of
# process kept busy meanwhile to RESULTS/NAME.cpu (cpu_use; CMD's own CPU
# time counts as KIND). Returns CMD's status.
timed() {
  local name=$1 kind=$2 rc=0 u s
  shift 2
  cpu_snap "$tmp/cpu.before"
  /usr/bin/time -f "%U %S" -o "$tmp/cpu.time" "$@" || rc=$?
  cpu_snap "$tmp/cpu.after"
  # The last line: a failed command's "Command exited with non-zero
  # status" comes first.
  read -r u s < <(tail -n 1 "$tmp/cpu.time" 2>/dev/null) || true
  [[ ${u:-} =~ ^[0-9.]+$ && ${s:-} =~ ^[0-9.]+$ ]] || { u=0 s=0; }
  cpu_use "$tmp/cpu.before" "$tmp/cpu.after" "$kind=$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')" >"$RESULTS/$name.cpu" ||
    rm -f "$RESULTS/$name.cpu"
  return "$rc"
}

# load NAME ARGS…: bench/load against NGINX; its report in RESULTS/NAME.txt,
# its figures in RESULTS/NAME.json, the cores busy meanwhile in
# RESULTS/NAME.cpu. Returns bench/load's status (99: a threshold failed).
load() {
  local name=$1 rc=0
  shift
  timed "$name" load "$tmp/load" -base-url "$base" -products "$PRODUCTS" -json "$RESULTS/$name.json" "$@" >"$RESULTS/$name.txt" 2>&1 || rc=$?
  if ((rc != 0 && rc != 99)); then
    cat "$RESULTS/$name.txt" >&2
    die "bench/load $* failed (status $rc)"
  fi
  sed -n "s/^result /  $name: /p" "$RESULTS/$name.txt" >&2
  return "$rc"
}

# in_flight RATE: the open loop's cap on outstanding requests (and client
# connections): 200 ms of requests, at least 1,000, at most 10,000 (file
# descriptors; NGINX's 4,096 connections per worker bind long before).
in_flight() {
  local r=$1 n
  if [[ -n ${MAX_IN_FLIGHT:-} ]]; then echo "$MAX_IN_FLIGHT"; return; fi
  n=$((r / 5))
  ((n < 1000)) && n=1000
  ((n > 10000)) && n=10000
  echo "$n"
}

capacity() {
  local mix rates first rc
  read -ra rates <<<"$RATES"
  first=${rates[0]}
  for mix in $MIXES; do
    start_cluster
    say "$mix: warm-up at $first req/s for $WARMUP (discarded)"
    load "warmup-$mix" -scenario "$mix" -warm -rate "$first" -duration "$WARMUP" -max-in-flight "$(in_flight "$first")" \
      -p99 "${P99_LIMIT_MS}ms" -max-error-rate "$MAX_ERROR_RATE" || true
    for r in "${rates[@]}"; do
      say "$mix: $r req/s for $STEP_DURATION"
      rc=0
      load "step-$mix-$r" -scenario "$mix" -rate "$r" -duration "$STEP_DURATION" -max-in-flight "$(in_flight "$r")" \
        -p99 "${P99_LIMIT_MS}ms" -max-error-rate "$MAX_ERROR_RATE" || rc=$?
      if ((rc == 99)); then
        say "$mix: over the limits at $r req/s; next mix"
        break
      fi
    done
    stop_cluster
  done
}

baseline() {
  local rates first r rc
  read -ra rates <<<"$RATES"
  first=${rates[0]}
  start_cluster baseline
  say "baseline: shop's reads at $first req/s for $WARMUP (discarded)"
  load warmup-baseline -scenario shop -ops list,meta -warm -rate "$first" -duration "$WARMUP" -max-in-flight "$(in_flight "$first")" \
    -p99 "${P99_LIMIT_MS}ms" -max-error-rate "$MAX_ERROR_RATE" || true
  for r in "${rates[@]}"; do
    say "baseline: shop's reads at $r req/s for $STEP_DURATION"
    rc=0
    load "step-baseline_shop_reads-$r" -scenario shop -ops list,meta -rate "$r" -duration "$STEP_DURATION" \
      -max-in-flight "$(in_flight "$r")" -p99 "${P99_LIMIT_MS}ms" -max-error-rate "$MAX_ERROR_RATE" || rc=$?
    if ((rc == 99)); then
      say "baseline: over the limits at $r req/s"
      break
    fi
  done
  # The write yardstick of the HTTP path: the same closed loop as part
  # writes' PUT …/helpful, answered 204 by the fixed-body servers.
  say "baseline: PUT …/helpful, $WRITE_CONNS connections, closed loop, $WRITE_DURATION"
  # The servers hold no reviews to sample: a thousand ids, as part writes'
  # pgbench votes on.
  load warmup-baseline-put -scenario writes -ops helpful -reviews 1-1000 -mode closed -conns "$WRITE_CONNS" -duration "$WRITE_WARMUP" || true
  load baseline-put -scenario writes -ops helpful -reviews 1-1000 -mode closed -conns "$WRITE_CONNS" -duration "$WRITE_DURATION" || true
  stop_cluster

  local lo verdict
  # post_bare.sql and helpful_bare.sql share the defines lo/hi (products
  # for one, review ids for the other): one range of a thousand ids that
  # is both, drawn below the largest product id.
  lo=$(((RANDOM * 32768 + RANDOM) % (PRODUCTS > 1000 ? PRODUCTS - 999 : 1) + 1))
  for r in "${rates[@]}"; do
    say "baseline: pgbench, mixed's statements at $r tps for $STEP_DURATION"
    timed "pgbench_mixed-$r" pgbench pgbench -n -M prepared -f bench/pgbench/list.sql@700 -f bench/pgbench/meta.sql@300 \
      -f bench/pgbench/post_bare.sql@250 -f bench/pgbench/helpful_bare.sql@250 \
      -D "products=$PRODUCTS" -D "lo=$lo" -D "hi=$((lo + 999))" \
      -R "$r" -L "$P99_LIMIT_MS" -c 64 -j "$THREADS" -T "$(seconds "$STEP_DURATION")" "$DATABASE_URL" \
      >"$RESULTS/pgbench_mixed-$r.txt" 2>&1 || {
      cat "$RESULTS/pgbench_mixed-$r.txt" >&2
      die "pgbench (mixed baseline) failed"
    }
    # The report's own rule (clusterreport -judge-pgbench: 0 pass, 3 over).
    rc=0
    verdict=$("$tmp/clusterreport" -judge-pgbench "$RESULTS/pgbench_mixed-$r.txt") || rc=$?
    ((rc == 0 || rc == 3)) || die "clusterreport -judge-pgbench failed on $RESULTS/pgbench_mixed-$r.txt"
    say "  $verdict"
    if ((rc == 3)); then
      say "baseline: pgbench over the limits at $r tps"
      break
    fi
  done
}

# pgbench_tps NAME SCRIPT DEFINES…: pgbench at WRITE_CONNS for
# WRITE_DURATION; its output in RESULTS/NAME.txt, its tps in RESULTS/NAME.tps.
pgbench_tps() {
  local name=$1 script=$2 d=()
  shift 2
  for v in "$@"; do d+=(-D "$v"); done
  pgbench -n -M prepared -f "bench/pgbench/$script" "${d[@]}" -c "$WRITE_CONNS" -j "$THREADS" \
    -T "$(seconds "$WRITE_WARMUP")" "$DATABASE_URL" >/dev/null 2>&1 || die "pgbench $script (warm-up) failed"
  timed "$name" pgbench pgbench -n -M prepared -f "bench/pgbench/$script" "${d[@]}" -c "$WRITE_CONNS" -j "$THREADS" \
    -T "$(seconds "$WRITE_DURATION")" "$DATABASE_URL" >"$RESULTS/$name.txt" 2>&1 || {
    cat "$RESULTS/$name.txt" >&2
    die "pgbench $script failed"
  }
  awk '/^tps = / {printf "%.1f\n", $3; exit}' "$RESULTS/$name.txt" >"$RESULTS/$name.tps"
  say "  $script: $(cat "$RESULTS/$name.tps") tps"
}

writes() {
  # pgbench works on as many rows as bench/load's writes do (its sample:
  # 50 products, up to 20 reviews each), at a random place in the tables.
  local max_review lo plo
  max_review=$(psql "$DATABASE_URL" -XAtqc "SELECT max(id) FROM reviews")
  lo=$(((RANDOM * 32768 + RANDOM) % (max_review > 1000 ? max_review - 999 : 1) + 1))
  plo=$(((RANDOM * 32768 + RANDOM) % (PRODUCTS > 50 ? PRODUCTS - 49 : 1) + 1))
  say "writes: pgbench helpful_bare.sql on reviews $lo..$((lo + 999)), $WRITE_CONNS clients, $WRITE_DURATION"
  pgbench_tps pgbench-helpful helpful_bare.sql "lo=$lo" "hi=$((lo + 999))"
  say "writes: pgbench post_bare.sql on products $plo..$((plo + 49)), $WRITE_CONNS clients, $WRITE_DURATION"
  pgbench_tps pgbench-post post_bare.sql "lo=$plo" "hi=$((plo + 49))"
  start_cluster
  local op
  for op in helpful post; do
    say "writes: $op through NGINX, $WRITE_CONNS connections, closed loop, $WRITE_DURATION"
    load "warmup-write-$op" -scenario writes -ops "$op" -mode closed -conns "$WRITE_CONNS" -duration "$WRITE_WARMUP" || true
    sample_waits "$(seconds "$WRITE_DURATION")" >"$RESULTS/waits-$op.txt" &
    local sampler=$!
    load "write-$op" -scenario writes -ops "$op" -mode closed -conns "$WRITE_CONNS" -duration "$WRITE_DURATION" || true
    wait "$sampler" || say "writes: sampling wait events failed"
  done
  stop_cluster
}

# sample_waits SECONDS: what the database's active backends wait for, every
# 200 ms for SECONDS: prints the five commonest wait events (CPU when none)
# as shares of all samples, "LWLock:WALWrite 38%; IO:WALSync 6%; …" — the
# hot-row question of issue 10 (row locks would show as Lock:tuple,
# Lock:transactionid).
sample_waits() {
  local end=$((SECONDS + $1))
  while ((SECONDS < end)); do
    psql "$DATABASE_URL" -XAtqc "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
        AND backend_type = 'client backend' AND query NOT LIKE 'LISTEN%'" || return 1
    sleep 0.2
  done | sort | uniq -c | sort -rn |
    awk '{n[NR] = $1; e[NR] = $2; t += $1} END {for (i = 1; i <= NR && i <= 5; i++) printf "%s%s %d%%", (i > 1 ? "; " : ""), e[i], 100 * n[i] / t; print ""}'
}

noisy() {
  local secs
  secs=$(seconds "$NOISY_DURATION")
  start_cluster
  say "noisy: mixed at $NOISY_RATE req/s for $WARMUP without the busy loop (discarded)"
  load warmup-noisy -scenario mixed -rate "$NOISY_RATE" -duration "$WARMUP" || true
  # The same run without the neighbour: how many cores the deployment
  # needs at this rate, against the one the busy loop leaves it.
  say "noisy: mixed at $NOISY_RATE req/s for $NOISY_DURATION without the busy loop"
  load noisy-quiet -scenario mixed -rate "$NOISY_RATE" -duration "$NOISY_DURATION" -p99 "${P99_LIMIT_MS}ms" -max-error-rate 0 || true
  # One process spinning, for the run's length plus half a minute at most:
  # it ends by itself even if this script dies without its trap.
  bash -c "end=\$((SECONDS + $((secs + 30)))); while ((SECONDS < end)); do :; done" &
  busy_pid=$!
  pids+=("$busy_pid")
  say "noisy: mixed at $NOISY_RATE req/s for $NOISY_DURATION, one core kept busy by pid $busy_pid"
  load noisy -scenario mixed -rate "$NOISY_RATE" -duration "$NOISY_DURATION" -p99 "${P99_LIMIT_MS}ms" -max-error-rate 0 || true
  kill -TERM "$busy_pid" 2>/dev/null || true
  wait "$busy_pid" 2>/dev/null || true
  busy_pid=
  stop_cluster
}

{
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC'): three instances behind NGINX"
  echo
  echo "Run of $(machine_line); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')."
  if ((generated)); then
    db="the script's own cluster ($PG_DIR) loaded by \`catwalk etl\` from $DATA_DIR"
  else
    db="the database of DATABASE_URL"
  fi
  echo "Database: $db, $(psql "$DATABASE_URL" -XAtqc "SELECT to_char(count(*), 'FM9,999,999,999') FROM reviews") reviews, products 1..$PRODUCTS,
shared_buffers $(psql "$DATABASE_URL" -XAtqc "SHOW shared_buffers"), max_wal_size $(psql "$DATABASE_URL" -XAtqc "SHOW max_wal_size"), checkpoint_timeout $(psql "$DATABASE_URL" -XAtqc "SHOW checkpoint_timeout"), fsync $(psql "$DATABASE_URL" -XAtqc "SHOW fsync"), synchronous_commit $(psql "$DATABASE_URL" -XAtqc "SHOW synchronous_commit");
load generator, NGINX, the three instances and PostgreSQL on this one machine."
  echo -n "\`bench/cluster.sh\` with PARTS=\"$PARTS\""
  [[ " $PARTS " == *" capacity "* ]] && echo -n "; steps of $STEP_DURATION after a $WARMUP warm-up, rates $RATES"
  [[ " $PARTS " == *" baseline "* ]] && echo -n "; baseline bodies of ${BASELINE_SIZE:-1158} bytes"
  [[ " $PARTS " == *" writes "* ]] && echo -n "; writes at $WRITE_CONNS connections for $WRITE_DURATION"
  [[ " $PARTS " == *" noisy "* ]] && echo -n "; noisy neighbour for $NOISY_DURATION"
  echo "."
} >"$RESULTS/header.md"

for part in $PARTS; do
  "$part"
done

report_args=(-dir "$RESULTS" -plot "$PLOT" -p99-limit-ms "$P99_LIMIT_MS" -max-error-rate "$MAX_ERROR_RATE")
[[ -n $BENCHMARKS_MD ]] && report_args+=(-insert "$BENCHMARKS_MD")
mkdir -p "$(dirname "$PLOT")"
"$tmp/clusterreport" "${report_args[@]}" | tee "$RESULTS/cluster.md"
say "results in $RESULTS; plot $PLOT${BENCHMARKS_MD:+; inserted into $BENCHMARKS_MD}"
