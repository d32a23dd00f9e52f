package handlers

import (
	"testing"

	"github.com/catwalk/reviews/testdb"
)

// TestMain gives the package's tests their database, made when the first
// test asks for it: a fuzz worker (the processes `go test -fuzz` starts)
// runs only a fuzz target, which needs none (fuzz_test.go), and starts no
// cluster.
func TestMain(m *testing.M) { testdb.Main(m) }
