# The two commands of the README: `make run` and `make test`.
GO ?= go

.PHONY: run test test-pure build vet bench clean cluster cluster-stop faults fuzz

## run: serve the API on a local PostgreSQL under ./.data with demo data
run:
	$(GO) run . dev

## test: the whole test suite, against real throwaway PostgreSQL clusters
## (after test-pure: a quick failure first, and proof its tests stay pure),
## then every fuzz target briefly (FUZZTIME_TEST each; their seed corpora
## already ran as regression tests)
FUZZTIME_TEST ?= 5s
test:
	scripts/test-deps.sh
	$(GO) vet ./...
	GO=$(GO) scripts/test-pure.sh
	$(GO) test -race -count=1 -timeout 20m ./...
	GO=$(GO) scripts/fuzz.sh $(FUZZTIME_TEST)

## test-pure: the tests that need no database (parsing, rendering, configuration,
## documents), in seconds and without PostgreSQL; TESTDB_FORBID=1 fails any that asks for one
test-pure:
	GO=$(GO) scripts/test-pure.sh

## fuzz: every fuzz target of the module (found by name), FUZZTIME each
FUZZTIME ?= 30s
fuzz:
	GO=$(GO) scripts/fuzz.sh $(FUZZTIME)

## build: the catwalk binary at bin/catwalk
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/catwalk .

## cluster: PostgreSQL, three `catwalk serve` instances and NGINX on :8080 (logs in .data/cluster)
cluster:
	scripts/cluster.sh start

## cluster-stop: stop every process `make cluster` started
cluster-stop:
	scripts/cluster.sh stop

## faults: the fault drills of scripts/faults/drills.sh under load, on a PostgreSQL of their own (DRILLS="kill9 rolling …"; FAULTS_DIR, RATE, OUT from the environment)
DRILLS ?=
faults:
	scripts/faults/drills.sh $(DRILLS)

## bench: the benchmarks that need no database (bench/micro: the handlers over an in-memory store,
## the cache), each BENCH_COUNT times for benchstat; BENCH selects (BENCH=List); BENCHTIME per run.
## Judge a change: make bench > new.txt on it and old.txt on the commit before, then
## go run golang.org/x/perf/cmd/benchstat@latest old.txt new.txt (BENCHMARKS.md, "Judging a change")
BENCH ?= .
BENCH_COUNT ?= 6
BENCHTIME ?= 1s
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCH_COUNT) -benchtime $(BENCHTIME) ./bench/micro

clean:
	rm -rf bin

# load testing
.PHONY: bench-read bench-pipelines bench-cluster bench-cluster-noisy load

## bench-read: read benchmarks side by side (DATABASE_URL of a loaded database on this machine)
bench-read: build
	bench/read.sh bin/catwalk

## bench-pipelines: cache misses by DB_READ_PIPELINES, next to pgbench (DATABASE_URL as for bench-read)
bench-pipelines: build
	bench/pipelines.sh bin/catwalk

## bench-cluster: three instances behind NGINX at rising rates (mixed, shop) and the write ratios; results into BENCHMARKS.md
## (DATABASE_URL of a loaded database, or none: the script's own full-scale cluster; see bench/README.md)
bench-cluster: build
	bench/cluster.sh

## bench-cluster-noisy: mixed at 1,500 req/s through the cluster while a busy loop keeps one core busy
bench-cluster-noisy: build
	PARTS=noisy bench/cluster.sh

## load: one scenario with the Go runner (SCENARIO=list; BASE_URL, PRODUCTS, RATE, DURATION from the environment)
SCENARIO ?= list
load:
	$(GO) build -o bin/load ./bench/load
	bin/load -scenario $(SCENARIO)
