package api_test

import (
	"testing"

	"github.com/catwalk/reviews/testdb"
)

// TestMain gives the package's tests their database (the served-document
// test runs the real server on it).
func TestMain(m *testing.M) { testdb.Main(m) }
