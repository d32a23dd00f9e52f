package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The benchmark scripts (bench/read.sh drives this runner) must at least
// parse.
func TestBenchScriptsParseSuccess(t *testing.T) {
	for _, script := range []string{"../read.sh", "../pipelines.sh", "../mixed.sh", "../lib.sh", "../etl.sh",
		"../cluster.sh", "../../scripts/cluster.sh"} {
		out, err := exec.CommandContext(t.Context(), "bash", "-n", script).CombinedOutput()
		if err != nil {
			t.Errorf("bash -n %s: %v\n%s", script, err, out)
		}
	}
}

// bench/cluster.sh and `make cluster` run NGINX from a copy of nginx.conf
// that scripts/cluster.sh derives: only the listen line, the three
// upstream server lines and the line exempting 127.0.0.1 from the
// per-client limits may differ from the deployed file.
func TestClusterNginxConfSuccess(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "../../scripts/cluster.sh", "nginx-conf", "18080", "13001", "13002", "13003").Output()
	if err != nil {
		t.Fatalf("scripts/cluster.sh nginx-conf: %v", err)
	}
	orig, err := os.ReadFile("../../nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	a, b := strings.Split(string(orig), "\n"), strings.Split(string(out), "\n")
	if len(a) != len(b) {
		t.Fatalf("derived config has %d lines, nginx.conf %d", len(b), len(a))
	}
	want := map[string]string{
		"listen 8080;": "listen 127.0.0.1:18080;",
		"server api1:3000 max_fails=3 fail_timeout=10s resolve;": "server 127.0.0.1:13001 max_fails=3 fail_timeout=10s;",
		"server api2:3000 max_fails=3 fail_timeout=10s resolve;": "server 127.0.0.1:13002 max_fails=3 fail_timeout=10s;",
		"server api3:3000 max_fails=3 fail_timeout=10s resolve;": "server 127.0.0.1:13003 max_fails=3 fail_timeout=10s;",
		"127.0.0.1 0;": "127.0.0.1 1;",
	}
	changed := 0
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		changed++
		if w, ok := want[strings.TrimSpace(a[i])]; !ok || strings.TrimSpace(b[i]) != w {
			t.Errorf("line %d changed from %q to %q", i+1, a[i], b[i])
		}
	}
	if changed != len(want) {
		t.Fatalf("%d lines changed, want %d", changed, len(want))
	}
}

func TestClusterNginxConfFailure(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "../../scripts/cluster.sh", "nginx-conf", "18080", "13001", "13002").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "three upstream servers") {
		t.Fatalf("two ports: err %v, output %q; want a refusal", err, out)
	}
}
