#!/usr/bin/env bash
# bench/compare.sh — did a change move the read and write benchmarks? Builds
# one package's test binary at two commits and runs their benchmarks in
# alternating rounds (old, new, old, new, …), so a busy machine weighs on
# both alike, then compares them with benchstat: "~" is no change beyond
# the noise, a percentage with p < 0.05 is one.
#
# Usage: bench/compare.sh OLD NEW
#   e.g. bench/compare.sh 4ff1c39 HEAD   (issue 15's "no behaviour change")
#
# Environment (defaults in brackets):
#   PKG        the package whose benchmarks run [./handlers]: its read and
#              write benchmarks against a real PostgreSQL (package testdb
#              starts a throwaway cluster per run)
#   BENCH      -test.bench pattern [the cache hits and misses of list and
#              meta, POST and helpful: ^Benchmark(ListHit|MetaHit|ListMiss|MetaMiss|PostReview|MarkHelpful)$]
#   BENCHTIME  per benchmark and round [1s]
#   ROUNDS     alternating rounds, benchstat's n [6]
#   OUT        directory for old.txt, new.txt and the comparison [a temp dir, printed]
#
# Both commits must have the package and the benchmarks (a benchmark the
# old commit lacks shows as missing). The output names the commits.
set -euo pipefail
SCRIPT=compare.sh
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
# shellcheck source=bench/lib.sh
source bench/lib.sh

[[ $# == 2 ]] || die "usage: bench/compare.sh OLD NEW"
PKG=${PKG:-./handlers}
BENCH=${BENCH:-'^Benchmark(ListHit|MetaHit|ListMiss|MetaMiss|PostReview|MarkHelpful)$'}
BENCHTIME=${BENCHTIME:-1s}
ROUNDS=${ROUNDS:-6}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

declare -A rev bin
remove_worktrees() {
  git worktree remove --force "$tmp/old" 2>/dev/null || true
  git worktree remove --force "$tmp/new" 2>/dev/null || true
  cleanup
}
trap remove_worktrees EXIT
for side in old new; do
  [[ $side == old ]] && ref=$1 || ref=$2
  rev[$side]=$(git rev-parse --short "$ref^{commit}") || die "no commit '$ref'"
  git worktree add -q --detach "$tmp/$side" "${rev[$side]}" || die "git worktree add ${rev[$side]} failed"
  say "building $PKG's test binary at ${rev[$side]}"
  (cd "$tmp/$side" && go test -c -o "$tmp/$side.test" "$PKG") || die "building $PKG at ${rev[$side]} failed"
  bin[$side]=$tmp/$side.test
done

: >"$OUT/old.txt"
: >"$OUT/new.txt"
for ((i = 1; i <= ROUNDS; i++)); do
  for side in old new; do
    say "round $i/$ROUNDS: $side (${rev[$side]})"
    # From the package's directory in that commit's tree, as go test runs it
    # (tests read files relative to it).
    (cd "$tmp/$side/$PKG" && "${bin[$side]}" -test.run '^$' -test.bench "$BENCH" -test.benchtime "$BENCHTIME" \
      -test.count 1 -test.benchmem) >"$tmp/round.txt" 2>&1 || {
      cat "$tmp/round.txt" >&2
      die "the benchmarks at ${rev[$side]} failed"
    }
    cat "$tmp/round.txt" >>"$OUT/$side.txt"
  done
done
mv "$OUT/old.txt" "$OUT/${rev[old]}.txt"
mv "$OUT/new.txt" "$OUT/${rev[new]}.txt"
echo "$PKG, $ROUNDS alternating rounds of $BENCHTIME, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)" |
  tee "$OUT/comparison.txt"
(cd "$OUT" && go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da "${rev[old]}.txt" "${rev[new]}.txt") |
  tee -a "$OUT/comparison.txt"
say "results in $OUT"
