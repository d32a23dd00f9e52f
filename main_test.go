package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunExitStatus(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	f := func(args []string, want int, wantStderr string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		got := run(context.Background(), args, &stdout, &stderr)
		if got != want {
			t.Errorf("run(%q) = %d, want %d (stderr %q)", args, got, want, stderr.String())
		}
		if !strings.Contains(stderr.String(), wantStderr) {
			t.Errorf("run(%q) stderr %q lacks %q", args, stderr.String(), wantStderr)
		}
	}
	f(nil, 2, "usage: catwalk")
	f([]string{"bogus"}, 2, `unknown command "bogus"`)
	for _, cmd := range []string{"serve", "dev", "migrate", "gen", "etl"} {
		f([]string{cmd, "-h"}, 0, "usage: catwalk "+cmd)
		f([]string{cmd, "-no-such-flag"}, 2, "flag provided but not defined")
	}
	f([]string{"serve"}, 2, "DATABASE_URL")
	f([]string{"migrate"}, 2, "DATABASE_URL")
}
