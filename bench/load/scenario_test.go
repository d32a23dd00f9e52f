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
	if got := f.FullScale.MinProducts; got < 1000000 || got > 1000011 {
		t.Fatalf("full_scale.min_products = %d, want about the full-scale 1,000,011 (not a demo 10,000)", got)
	}
	// The SLO, written once (README, "Load testing"): reads p95 < 50 ms and
	// p99 < 100 ms, writes p95 < 100 ms and p99 < 250 ms, at most 0.1 %
	// failed and at least 99.9 % checks; the seed's bar p99 < 1 s, < 1 %.
	slo, name, err := f.SLO.Profile("")
	if err != nil || name != "slo" {
		t.Fatalf("default profile %q: %v", name, err)
	}
	if slo.Read.P95Ms != 50 || slo.Read.P99Ms != 100 || slo.Write.P95Ms != 100 || slo.Write.P99Ms != 250 ||
		slo.MaxErrorRate != 0.001 || slo.MinChecksRate != 0.999 {
		t.Fatalf("slo profile %+v", slo)
	}
	seed, _, err := f.SLO.Profile("seed")
	if err != nil || seed.Read.P99Ms != 1000 || seed.Write.P99Ms != 1000 || seed.MaxErrorRate != 0.01 {
		t.Fatalf("seed profile %+v (%v)", seed, err)
	}
	if slo.class("post").P99Ms != 250 || slo.class("meta").P99Ms != 100 {
		t.Fatal("post must be judged as a write, meta as a read")
	}
	if got, want := strings.Join(f.Names(), ","), "list,meta,mixed,shop,writes"; got != want {
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
		if time.Duration(s.Duration) != 30*time.Second {
			t.Fatalf("%s: duration %s", name, time.Duration(s.Duration))
		}
	}
	if !f.Scenarios["list"].Uses("list") || f.Scenarios["list"].Uses("post", "helpful", "report") {
		t.Fatal("list must read only")
	}
	for _, name := range []string{"list", "meta", "writes", "mixed"} {
		if f.Scenarios[name].Hot != nil {
			t.Fatalf("%s has a hot set; products stay uniform outside shop", name)
		}
	}

	// shop: 70 % list, 25 % meta, 3 % helpful, 1.5 % post, 0.5 % report,
	// 80 % of the traffic on 5 % of the products.
	shop := f.Scenarios["shop"]
	total := 0
	for _, m := range shop.Mix {
		total += m.Weight
	}
	want := map[string]float64{"list": 70, "meta": 25, "helpful": 3, "post": 1.5, "report": 0.5}
	if len(shop.Mix) != len(want) {
		t.Fatalf("shop mix %+v, want the five operations once each", shop.Mix)
	}
	for _, m := range shop.Mix {
		if got := 100 * float64(m.Weight) / float64(total); got != want[m.Op] {
			t.Fatalf("shop: %s is %g %%, want %g %%", m.Op, got, want[m.Op])
		}
	}
	if shop.Hot == nil || shop.Hot.Products != 0.05 || shop.Hot.Traffic != 0.8 {
		t.Fatalf("shop hot set %+v, want 80 %% of traffic on 5 %% of products", shop.Hot)
	}
	if size, stride := shop.Hot.hotSet(1000011); size != 50000 || stride != 20 {
		t.Fatalf("full-scale hot set: %d products every %d, want 50000 every 20", size, stride)
	}
}

func TestHotSetSuccess(t *testing.T) {
	for _, c := range []struct {
		n            int
		products     float64
		size, stride int
	}{
		{1000, 0.05, 50, 20},
		{1000011, 0.05, 50000, 20},
		{3, 0.05, 1, 3}, // at least one hot product
		{1, 0.5, 1, 1},
		{10, 0.3, 3, 3},
	} {
		size, stride := (&Hot{Products: c.products, Traffic: 0.8}).hotSet(c.n)
		if size != c.size || stride != c.stride {
			t.Errorf("hotSet(%d) with products %g = %d every %d, want %d every %d", c.n, c.products, size, stride, c.size, c.stride)
		}
		if last := 1 + (size-1)*stride; last > c.n {
			t.Errorf("hotSet(%d): last hot id %d is past the products", c.n, last)
		}
	}
}

func TestOnlySuccess(t *testing.T) {
	f, err := LoadFile(filepath.Join(k6Dir, "scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	mixed := f.Scenarios["mixed"]
	s, err := mixed.Only([]string{"helpful", "post", "helpful"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Mix) != 2 || s.Mix[0] != (Weighted{"helpful", 230}) || s.Mix[1] != (Weighted{"post", 250}) {
		t.Fatalf("Only(helpful, post) = %+v", s.Mix)
	}
	if len(mixed.Mix) != 5 {
		t.Fatalf("Only changed the scenario itself: %+v", mixed.Mix)
	}
	if all, err := mixed.Only(nil); err != nil || all != mixed {
		t.Fatalf("Only(nil) = %v, %v; want the scenario as it is", all, err)
	}
}

func TestOnlyFailure(t *testing.T) {
	f, err := LoadFile(filepath.Join(k6Dir, "scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Scenarios["list"].Only([]string{"helpful"}); err == nil || !strings.Contains(err.Error(), `no op "helpful"`) {
		t.Fatalf("Only(helpful) of list = %v, want an error naming the op", err)
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
	const good = `{"full_scale": {"min_products": 10}, "setup": {"sample_products": 1, "max_probes": 5, "reviews_per_product": 5},
	  "slo": {"default": "a", "profiles": {"a": {"read": {"ops": ["list", "meta"], "p99_ms": 10},
	    "write": {"ops": ["post", "helpful", "report"], "p95_ms": 20}, "max_error_rate": 0, "min_checks_rate": 1}}},
	  "scenarios": {"s": {"rate": 10, "duration": "1s", "preAllocatedVUs": 1, "maxVUs": 2,
	  "mix": [{"op": "list", "weight": 1}]}}}`
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
	f(`"min_products": 10`, `"min_products": 0`, "min_products")
	f(`"default": "a"`, `"default": "b"`, `default profile "b"`)
	f(`"p99_ms": 10`, `"p99_ms": 0`, "p95_ms or p99_ms")
	f(`"p95_ms": 20`, `"p95_ms": -1`, "p95_ms or p99_ms")
	f(`["list", "meta"]`, `["list"]`, "every op")
	f(`["list", "meta"]`, `["list", "meta", "post"]`, `op "post"`)
	f(`["list", "meta"]`, `["list", "meta", "delete"]`, `op "delete"`)
	f(`"max_error_rate": 0`, `"max_error_rate": 2`, "max_error_rate")
	f(`"min_checks_rate": 1`, `"min_checks_rate": -0.5`, "min_checks_rate")
	f(`"rate": 10`, `"rate": 0`, "rate")
	f(`"duration": "1s"`, `"duration": "soon"`, "duration")
	f(`"duration": "1s"`, `"duration": 30`, "duration")
	f(`"duration": "1s"`, `"duration": "500ms"`, "duration")
	f(`"maxVUs": 2`, `"maxVUs": 0`, "maxVUs")
	f(`"op": "list"`, `"op": "delete"`, `unknown op "delete"`)
	f(`"weight": 1`, `"weight": 0`, "weight")
	f(`"max_probes": 5`, `"max_probes": 0`, "max_probes")
	f(`[{"op": "list", "weight": 1}]`, `[]`, "empty mix")
	f(`"mix":`, `"hot": {"products": 0, "traffic": 0.8}, "mix":`, "hot.products")
	f(`"mix":`, `"hot": {"products": 1, "traffic": 0.8}, "mix":`, "hot.products")
	f(`"mix":`, `"hot": {"products": 0.05, "traffic": 0}, "mix":`, "hot.traffic")
	f(`"mix":`, `"hot": {"products": 0.05, "traffic": 1.5}, "mix":`, "hot.traffic")
	f(`"mix":`, `"hot": {"products": 0.05}, "mix":`, "hot.traffic")
	f(`{"full_scale"`, `[{"full_scale"`, "scenarios")
}
