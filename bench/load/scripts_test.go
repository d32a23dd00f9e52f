package main

import (
	"os/exec"
	"testing"
)

// The benchmark scripts (bench/read.sh drives this runner) must at least
// parse.
func TestBenchScriptsParseSuccess(t *testing.T) {
	for _, script := range []string{"../read.sh", "../pipelines.sh", "../mixed.sh", "../lib.sh", "../etl.sh"} {
		out, err := exec.CommandContext(t.Context(), "bash", "-n", script).CombinedOutput()
		if err != nil {
			t.Errorf("bash -n %s: %v\n%s", script, err, out)
		}
	}
}
