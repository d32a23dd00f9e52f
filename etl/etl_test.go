package etl_test

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/etl"
	"github.com/catwalk/reviews/gen"
	"github.com/catwalk/reviews/testdb"
)

var update = flag.Bool("update", false, "rewrite the golden rejects files")

func TestMain(m *testing.M) { testdb.Main(m) }

// db is a fresh migrated database: its URL for the ETL, a connection for
// the checks.
type db struct {
	url  string
	conn *pgx.Conn
}

func connect(t *testing.T) db {
	t.Helper()
	url := testdb.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return db{url, conn}
}

// mustLoad loads dir accepting any share of rejects: the tests that use it
// check what is loaded, not whether a dirty file is refused.
func mustLoad(t *testing.T, d db, dir string) *etl.Summary {
	t.Helper()
	sum, err := etl.Load(t.Context(), d.url, etl.Options{Dir: dir, RejectsDir: t.TempDir(), MaxRejectRatio: 1})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return sum
}

// copyDir copies the four files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range etl.Files {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func generate(t *testing.T, products int, dirty float64) (string, *gen.Counts) {
	t.Helper()
	dir := t.TempDir()
	counts, err := gen.Generate(gen.Options{Dir: dir, Products: products, Seed: 7, Dirty: dirty})
	if err != nil {
		t.Fatal(err)
	}
	return dir, counts
}

// queryStrings runs sql and returns each row's columns joined by "|".
func queryStrings(t *testing.T, d db, sql string, args ...any) []string {
	t.Helper()
	rows, err := d.conn.Query(t.Context(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = toString(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return v
	case []byte:
		return string(v)
	default:
		return strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(v), "\n", " "))
	}
}

func equalLists(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

type pgxConn = db

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
