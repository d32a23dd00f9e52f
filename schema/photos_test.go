package schema_test

import (
	"testing"

	"github.com/catwalk/reviews/schema"
	"github.com/catwalk/reviews/testdb"
)

// TestPhotosJSONSameInSQLAndGo holds the two builders of the photos column
// to the same bytes: the SQL aggregate (POST /reviews, the ETL's fill) and
// the Go encoder (the ETL's merge), over URLs that need escaping.
func TestPhotosJSONSameInSQLAndGo(t *testing.T) {
	pool := mustPool(t, testdb.NewEmptyDatabase(t))
	cases := map[string][]string{
		"none":    nil,
		"one":     {"https://example.com/a.jpg"},
		"escapes": {`q"uote\back`, "tab\tnl\ncr\rff\fbs\b", "ctl\x01\x1f\x7f", "<a>&amp;\u2028\u2029", "é 😀 日本"},
		"many":    {"a", "", "b", "c,d", `{"id":1}`},
	}
	for name, urls := range cases {
		ids := make([]int32, len(urls))
		for i := range urls {
			ids[i] = int32(i*7 + 3) // ascending, not contiguous
		}
		var sql string
		// Rows given out of id order: the aggregate sorts them itself.
		err := pool.QueryRow(t.Context(), `SELECT coalesce(`+schema.PhotosJSONAgg+`, '[]')
			FROM (SELECT * FROM unnest($1::int4[], $2::text[]) AS t (id, url) ORDER BY id DESC) AS t`,
			ids, urls).Scan(&sql)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		goJSON := schema.AppendPhotosJSON(nil, len(urls), func(i int) (int32, []byte) { return ids[i], []byte(urls[i]) })
		if string(goJSON) != sql {
			t.Errorf("%s: Go\n%s\nSQL\n%s", name, goJSON, sql)
		}
		if len(urls) == 0 && sql != "[]" {
			t.Errorf("%s: %s, want []", name, sql)
		}
	}
}
