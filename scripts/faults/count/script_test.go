package main

import (
	"os/exec"
	"testing"
)

// The drills script must at least parse; it is run by hand (make faults),
// never by the tests: it stops and freezes a PostgreSQL.
func TestDrillsScriptParseSuccess(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "bash", "-n", "../drills.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("bash -n ../drills.sh: %v\n%s", err, out)
	}
}
