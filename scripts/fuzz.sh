#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 30s):
#   scripts/fuzz.sh [FUZZTIME]      e.g. scripts/fuzz.sh 5m
# Targets are found, not listed: any `func FuzzXxx(f *testing.F)` in a
# package's tests is run. Their seed corpora (testdata/fuzz/<target>/) also
# run in plain `go test`; a failing input found here is written there, so
# it becomes a regression test once committed.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${1:-${FUZZTIME:-30s}}

pkgs=$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Z0-9_]' . | xargs -n1 dirname | sort -u)
[ -n "$pkgs" ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
n=0
for dir in $pkgs; do
	# Names from the sources: no test binary is built just to list them.
	for target in $(grep -hoE '^func Fuzz[A-Za-z0-9_]*\(' "$dir"/*_test.go | sed 's/^func //; s/($//' | sort -u); do
		echo "fuzz: $dir $target for $FUZZTIME"
		$GO test "$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME"
		n=$((n + 1))
	done
done
echo "fuzz: $n targets passed"
