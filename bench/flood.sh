#!/usr/bin/env bash
# bench/flood.sh — process memory under the floods of issue 11, against one
# catwalk serve with a given CACHE_MAX_BYTES: for DURATION seconds each, wrk
# sends (1) the distinct-pages flood (bench/wrk/pages.lua: count=1000000 and
# a new page every request) and (2) the frontend's whole-list pattern over
# every product (bench/wrk/frontend.lua). Every second it samples the
# instance's resident memory (VmRSS), catwalk_cache_bytes and the Go heap in
# use, and judges the bound README's "Operations", memory, promises:
# resident memory ≤ CACHE_MAX_BYTES + 256 MiB throughout.
#
# Usage: DATABASE_URL=postgres://… bench/flood.sh [path/to/catwalk]
#
# Environment [defaults]: CACHE_MAX_BYTES [67108864], DURATION [30],
# CONNS [32], THREADS [2], PORT [18090], PRODUCTS [largest product id].
# Exit status 1 when the bound was broken or a run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

SCRIPT=flood.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

CATWALK=${1:-${CATWALK:-bin/catwalk}}
CACHE_MAX_BYTES=${CACHE_MAX_BYTES:-67108864}
DURATION=${DURATION:-30}
DURATION=${DURATION%s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
[[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL must name a loaded database"
for v in CACHE_MAX_BYTES DURATION CONNS THREADS PORT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ -x $CATWALK ]] || build_catwalk
need_tools
check_database
bound=$((CACHE_MAX_BYTES + 256 * 1024 * 1024))

start_catwalk -cache-max-bytes "$CACHE_MAX_BYTES" -drain-delay 0
url="http://127.0.0.1:$PORT"

# metric NAME: one series' value from /metrics.
metric() { curl -s --max-time 2 "$url/metrics" | awk -v n="$1" '$1 == n {printf "%.0f", $2; exit}'; }
rss() { awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$serve_pid/status"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }

start_rss=$(rss)
say "catwalk serve (pid $serve_pid), CACHE_MAX_BYTES $(mib "$CACHE_MAX_BYTES") MiB, bound $(mib "$bound") MiB resident; at start $(mib "$start_rss") MiB"
failed=0
rows=()
for flood in pages frontend; do
  arg=1
  [[ $flood == frontend ]] && arg=$PRODUCTS
  say "$flood: wrk -t$THREADS -c$CONNS -d${DURATION}s -s bench/wrk/$flood.lua -- $arg"
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s "bench/wrk/$flood.lua" "$url" -- "$arg" >"$tmp/$flood.wrk" 2>&1 &
  wrk_pid=$!
  max_rss=0
  while kill -0 "$wrk_pid" 2>/dev/null; do
    r=$(rss)
    ((r > max_rss)) && max_rss=$r
    sleep 1
  done
  wait "$wrk_pid" || { cat "$tmp/$flood.wrk" >&2; die "wrk failed"; }
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$tmp/$flood.wrk")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$tmp/$flood.wrk")
  cache=$(metric catwalk_cache_bytes)
  heap=$(metric go_memstats_heap_inuse_bytes)
  verdict=PASS
  if ((max_rss > bound)) || [[ -n $non2xx ]]; then
    verdict=FAIL
    failed=1
  fi
  say "$flood: $rps req/s, non-2xx ${non2xx:-0}; peak resident $(mib "$max_rss") MiB (bound $(mib "$bound")); then catwalk_cache_bytes $(mib "$cache") MiB, Go heap in use $(mib "$heap") MiB: $verdict"
  rows+=("| $flood | ${DURATION}s | $rps | ${non2xx:-0} | $(mib "$max_rss") | $(mib "$bound") | $(mib "$cache") | $(mib "$heap") | $verdict |")
done

echo
echo "$(machine_line); \`bench/flood.sh\`, CACHE_MAX_BYTES $(mib "$CACHE_MAX_BYTES") MiB, $CONNS connections; resident at start $(mib "$start_rss") MiB."
echo
echo "| flood | duration | req/s | non-2xx | peak resident MiB | bound MiB | catwalk_cache_bytes MiB | Go heap in use MiB | verdict |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
exit "$failed"
