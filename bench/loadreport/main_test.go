package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunSuccess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	var stderr strings.Builder
	if code := run([]string{"-in", "../loadhtml/testdata/bench-load.json", "-out", out}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), `<figure id="latency-over-time"><svg`) {
		t.Fatalf("%v: the page lacks its latency-over-time plot", err)
	}
}

func TestRunFailure(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"tool":"k6"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"-in", filepath.Join(dir, "missing.json"), "-out", filepath.Join(dir, "r.html")}, 1, "no such file"},
		{[]string{"-in", bad, "-out", filepath.Join(dir, "r.html")}, 1, "no scenario"},
	} {
		var stderr strings.Builder
		if code := run(c.args, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Fatalf("run(%v) = %d, %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r.html")); err == nil {
		t.Fatal("a failed run left a page")
	}
}
