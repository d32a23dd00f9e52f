package schema_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sqlHomes are the module's top-level directories where SQL text may live:
// schema (the database's contracts, this package) and queries (the
// statements run at request time); bench and scripts hold tools whose SQL is
// their own (bench/pgbench's copies are tested equal to the service's).
var sqlHomes = map[string]bool{"schema": true, "queries": true, "bench": true, "scripts": true}

// sqlStart matches a literal that begins like an SQL statement: an
// upper-case keyword, then a space and what a statement puts there (an
// identifier or keyword, a parenthesis, a parameter, a number, a star) or
// nothing at all (a fragment completed by concatenation, "LISTEN " +
// channel). Case matters: "Set up …" or "Update failed" in a message is
// prose, not SQL.
var sqlStart = regexp.MustCompile(`^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|LISTEN|NOTIFY|COPY|SET|TRUNCATE|ANALYZE|WITH|VACUUM|BEGIN|LOCK)(\s*$|\s+[A-Za-z_("'$*0-9])`)

// TestSQLLivesInSchemaOrQueries fails for every string literal of the
// module's non-test Go code outside sqlHomes that starts like an SQL
// statement: a statement is a contract with the database, and a reader
// should find each one in schema or queries, not in whichever package runs it.
func TestSQLLivesInSchemaOrQueries(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules" || sqlHomes[rel]) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Errorf("%s: %v", fset.Position(lit.Pos()), err)
				return true
			}
			if sqlStart.MatchString(s) {
				pos := fset.Position(lit.Pos())
				first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
				t.Errorf("%s:%d: SQL outside schema/ and queries/: %.60q", rel, pos.Line, first)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk saw the module, not an empty directory.
	if files < 50 {
		t.Fatalf("walked %d Go files under %s; the module has more", files, root)
	}
}

// TestSQLStart pins what the guard above takes for SQL and what for prose.
func TestSQLStart(t *testing.T) {
	for s, want := range map[string]bool{
		"SELECT pg_advisory_lock($1)":         true,
		"\n\tSELECT (SELECT count(*) FROM x)": true,
		"LISTEN ":                             true,
		"COPY ":                               true,
		"DROP DATABASE x":                     true,
		" WITH (FORCE)":                       true,
		"SET LOCAL jit = off":                 true,
		"SELECT * FROM t":                     true,
		"SELECT 1":                            true,
		"WITH p AS (":                         true,
		"SELECT":                              true,
		"Select a product":                    false,
		"Update failed: %v":                   false,
		"set the flag":                        false,
		"SETUP_PORT":                          false,
		"WITHOUT":                             false,
		"UPDATE: done":                        false,
		"DELETE /reviews":                     false,
		"":                                    false,
	} {
		if got := sqlStart.MatchString(s); got != want {
			t.Errorf("sqlStart(%q) = %v, want %v", s, got, want)
		}
	}
}
