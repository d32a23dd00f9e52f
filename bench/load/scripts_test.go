package main

import (
	"os/exec"
	"testing"
)

// bench/read.sh drives this runner; it must at least parse.
func TestReadScriptParsesSuccess(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "bash", "-n", "../read.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("bash -n bench/read.sh: %v\n%s", err, out)
	}
}
