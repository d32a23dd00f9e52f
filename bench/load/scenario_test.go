package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const k6Dir = "../../k6"

func TestScenariosFileSuccess(t *testing.T) {
	f, err := LoadFile(filepath.Join(k6Dir, "scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Products, 1000011; got != want {
		t.Fatalf("products = %d, want the full-scale %d", got, want)
	}
	if got, want := strings.Join(f.Names(), ","), "list,meta,mixed,writes"; got != want {
		t.Fatalf("scenarios %s, want %s", got, want)
	}
	mixed := f.Scenarios["mixed"]
	reads, writes := 0, 0
	for _, m := range mixed.Mix {
		switch m.Op {
		case "list", "meta":
			reads += m.Weight
		default:
			writes += m.Weight
		}
	}
	// 1,000 reads/s and 500 writes/s.
	if got := mixed.Rate * reads / (reads + writes); got != 1000 {
		t.Fatalf("mixed: %d reads/s, want 1000", got)
	}
	if got := mixed.Rate * writes / (reads + writes); got != 500 {
		t.Fatalf("mixed: %d writes/s, want 500", got)
	}
	for _, name := range f.Names() {
		s := f.Scenarios[name]
		if s.Thresholds.P99Ms != 10 || s.Thresholds.MaxErrorRate != 0 {
			t.Fatalf("%s: thresholds %+v, want p99 10ms and no errors", name, s.Thresholds)
		}
		if time.Duration(s.Duration) != 30*time.Second {
			t.Fatalf("%s: duration %s", name, time.Duration(s.Duration))
		}
	}
	if !f.Scenarios["list"].Uses("list") || f.Scenarios["list"].Uses("post", "helpful", "report") {
		t.Fatal("list must read only")
	}
}

// Every k6 script runs a scenario the file defines, and every scenario has
// its script.
func TestK6ScriptsMatchScenariosSuccess(t *testing.T) {
	f, err := LoadFile(filepath.Join(k6Dir, "scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	nameRe := regexp.MustCompile(`(?m)^const NAME = '([a-z]+)';$`)
	for _, name := range f.Names() {
		src, err := os.ReadFile(filepath.Join(k6Dir, name+".js"))
		if err != nil {
			t.Fatalf("scenario %s has no script: %v", name, err)
		}
		m := nameRe.FindSubmatch(src)
		if m == nil || string(m[1]) != name {
			t.Fatalf("k6/%s.js does not declare const NAME = '%s';", name, name)
		}
	}
	// lib.js implements exactly the ops the runner knows.
	lib, err := os.ReadFile(filepath.Join(k6Dir, "lib.js"))
	if err != nil {
		t.Fatal(err)
	}
	for op := range ops {
		if !strings.Contains(string(lib), "case '"+op+"':") {
			t.Fatalf("k6/lib.js does not implement op %q", op)
		}
	}
}

func TestParseFileFailure(t *testing.T) {
	const good = `{"products": 10, "setup": {"sample_products": 1, "max_probes": 5, "reviews_per_product": 5},
	  "scenarios": {"s": {"rate": 10, "duration": "1s", "preAllocatedVUs": 1, "maxVUs": 2,
	  "mix": [{"op": "list", "weight": 1}], "thresholds": {"p99_ms": 10, "max_error_rate": 0}}}}`
	if _, err := ParseFile([]byte(good)); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
	f := func(old, new, want string) {
		t.Helper()
		in := strings.Replace(good, old, new, 1)
		if in == good {
			t.Fatalf("test bug: %q not in the base case", old)
		}
		_, err := ParseFile([]byte(in))
		if err == nil {
			t.Fatalf("%s → %s accepted", old, new)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%s → %s: %v; want it to mention %q", old, new, err, want)
		}
	}
	f(`"products": 10`, `"products": 0`, "products")
	f(`"rate": 10`, `"rate": 0`, "rate")
	f(`"duration": "1s"`, `"duration": "soon"`, "duration")
	f(`"duration": "1s"`, `"duration": 30`, "duration")
	f(`"duration": "1s"`, `"duration": "500ms"`, "duration")
	f(`"maxVUs": 2`, `"maxVUs": 0`, "maxVUs")
	f(`"op": "list"`, `"op": "delete"`, `unknown op "delete"`)
	f(`"weight": 1`, `"weight": 0`, "weight")
	f(`"p99_ms": 10`, `"p99_ms": 0`, "p99_ms")
	f(`"max_error_rate": 0`, `"max_error_rate": 2`, "max_error_rate")
	f(`"max_probes": 5`, `"max_probes": 0`, "max_probes")
	f(`[{"op": "list", "weight": 1}]`, `[]`, "empty mix")
	f(`{"products"`, `[{"products"`, "scenarios")
}
