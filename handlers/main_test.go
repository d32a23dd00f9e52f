package handlers

import (
	"flag"
	"os"
	"slices"
	"testing"

	"github.com/catwalk/reviews/testdb"
)

// TestMain gives the package's tests their database. A fuzz worker (the
// processes `go test -fuzz` starts) runs only a fuzz target, and the fuzz
// targets need none (fuzz_test.go): it starts no cluster of its own.
func TestMain(m *testing.M) {
	flag.Parse()
	if slices.ContainsFunc(os.Args, func(a string) bool { return a == "-test.fuzzworker" || a == "-test.fuzzworker=true" }) {
		os.Exit(m.Run())
	}
	testdb.Main(m)
}
