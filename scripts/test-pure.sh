#!/usr/bin/env bash
# The tests that need no database, run with TESTDB_FORBID=1: package testdb
# then fails any test that asks for one, so this fails when a test listed
# here quietly needs PostgreSQL. Parsing, rendering, configuration and
# document checks, in seconds, with no cluster started (make test-pure;
# make test runs it first).
#   scripts/test-pure.sh [go test flags, e.g. -v]
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export TESTDB_FORBID=1

# Packages whose tests never use testdb: all of their tests, but the
# heavy one (a heap measurement; gen, which writes datasets, is left out).
whole=(./cache ./envflag ./httpmetrics ./ids ./jsontext ./nrtxn ./progress)
skip='^TestChargedBytesMatchHeap$'

# Packages whose TestMain is testdb.Main: their pure tests, by name. Each
# must run and pass: a name that no longer matches a test fails the target.
named=(
	# .: flags, usage and exit statuses
	TestServeFlagDefaults TestRunExitStatus
	# api: the OpenAPI document against itself and the router
	TestJSONMatchesYAML TestDocumentIsValid TestExamplesValidate TestRoutesDocumented TestOffRouteAnswers
	# bench/pgbench: the scripts are the service's statements
	TestListScriptIsTheServiceStatementSuccess TestMetaScriptIsTheServiceStatementSuccess
	# e2e: the deployment files
	TestComposeFile TestDeployFiles
	# etl: CSV parsing, progress metrics and their page
	TestCSVReaderSuccess TestCSVReaderFailure TestCSVReaderCap TestProgressMetricsRunning TestServeMetrics FuzzCSVReader
	# handlers: query strings, POST bodies, ids, origins, ETags, JSON bodies,
	# averages, errors without a database, routes
	TestParseListParamsSuccess TestParseListParamsFailure TestAppendReview TestAppendMeta
	TestAppendAverageSuccess TestParseIDSuccess TestParseIDFailure TestParseOriginsSuccess
	TestParseOriginsFailure TestCacheControl TestETagListMatches TestCORSServerError
	TestMethodsAreAdvertisedTruthfully TestReadDatabaseDown TestWritesWithoutDatabase
	TestNoDriverImport FuzzListParams FuzzReviewRoute FuzzNewReview
	# queries: replication positions
	TestParseLSNSuccess TestParseLSNFailure
	# schema: migration files, SQL text only in schema and queries
	TestMigrationsAreNumbered TestSQLLivesInSchemaOrQueries TestSQLStart
	# scripts/faults/count: its report and arguments
	TestSummarizeSuccess TestReadFailure TestRunUsageFailure TestDrillsScriptParseSuccess
	# server: configuration defaults and checks, the connection budget
	TestSetDefaults TestConnBudget TestBrowserAndPprofSettingsFailure TestBareLFConnLeavesOtherBytes
)
namedPkgs=(. ./api ./bench/pgbench ./e2e ./etl ./handlers ./queries ./schema ./scripts/faults/count ./server)

$GO test -race -count=1 -skip "$skip" "$@" "${whole[@]}"

pattern="^($(IFS='|'; echo "${named[*]}"))\$"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! $GO test -race -count=1 -v -run "$pattern" "$@" "${namedPkgs[@]}" >"$out" 2>&1; then
	cat "$out"
	exit 1
fi
grep -E '^(ok|FAIL|---)' "$out" | grep -v '^--- PASS' || true
missing=0
for t in "${named[@]}"; do
	if ! grep -q -- "^--- PASS: $t (" "$out"; then
		echo "test-pure: $t did not run (renamed or moved? update scripts/test-pure.sh)" >&2
		missing=1
	fi
done
[ "$missing" = 0 ] || exit 1
echo "test-pure: ${#named[@]} named tests and ${#whole[@]} packages passed without a database"
