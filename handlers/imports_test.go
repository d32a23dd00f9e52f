package handlers

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoDriverImport: handlers learns what a database error means from
// package queries (queries.Unavailable, its error values), never from the
// driver, so the driver can change without touching the HTTP layer. Tests
// may import pgx for their fixtures.
func TestNoDriverImport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(path, "github.com/jackc/") {
				t.Errorf("%s imports %s; turn the driver's errors into queries errors instead", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source file of package handlers found")
	}
}
