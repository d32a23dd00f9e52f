package queries

import (
	"testing"

	"github.com/catwalk/reviews/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }
