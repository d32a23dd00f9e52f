// Package pgbench_test proves the pgbench scripts of bench/ against the real
// schema: each runs under pgbench -M prepared and does what the API does.
// Every script's tests share this package's database.
package pgbench_test

import (
	"testing"

	"github.com/catwalk/reviews/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }
