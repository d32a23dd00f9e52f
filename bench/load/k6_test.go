package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeCheck syntax-checks src as an ES module, as k6 loads it; node only
// parses, so the k6/* imports need not resolve.
func nodeCheck(t *testing.T, src []byte) (string, error) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to syntax-check the k6 scripts and is not on PATH (apt-get install nodejs): %v", err)
	}
	cmd := exec.CommandContext(t.Context(), node, "--input-type=module", "--check")
	cmd.Stdin = strings.NewReader(string(src))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestK6ScriptsParseSuccess(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(k6Dir, "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d k6 scripts, want lib.js and one per scenario", len(files))
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := nodeCheck(t, src); err != nil {
			t.Errorf("%s does not parse as an ES module: %v\n%s", file, err, out)
		}
	}
}

// The check must be able to fail: a broken module is rejected.
func TestK6ScriptsParseFailure(t *testing.T) {
	if _, err := nodeCheck(t, []byte("import http from 'k6/http';\nexport default function ( {\n")); err == nil {
		t.Fatal("node --check accepted a broken module")
	}
}
