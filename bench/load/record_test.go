package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// keySeen is what the server saw of one keyed write.
type keySeen struct {
	op, summary, name string
}

// startKeyedFake is startFake with the Idempotency-Key of every write and
// the summary and name of every POST noted by key.
func startKeyedFake(t *testing.T, a *fakeAPI) (fasthttp.DialFunc, func() map[string]keySeen) {
	t.Helper()
	a.counts = map[string]int{}
	var mu sync.Mutex
	seen := map[string]keySeen{}
	unkeyed := 0
	handle := func(ctx *fasthttp.RequestCtx) {
		key := string(ctx.Request.Header.Peek("Idempotency-Key"))
		var s keySeen
		switch {
		case ctx.IsPost():
			s.op = "post"
			var body struct{ Summary, Name string }
			_ = json.Unmarshal(ctx.PostBody(), &body)
			s.summary, s.name = body.Summary, body.Name
		case strings.HasSuffix(string(ctx.Path()), "/helpful"):
			s.op = "helpful"
		}
		mu.Lock()
		if key != "" {
			if _, dup := seen[key]; dup {
				s.op = "duplicate"
			}
			seen[key] = s
		} else if s.op != "" {
			unkeyed++
		}
		mu.Unlock()
		a.handle(ctx)
	}
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: handle}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return func(string) (net.Conn, error) { return ln.Dial() }, func() map[string]keySeen {
		mu.Lock()
		defer mu.Unlock()
		// Setup's 50 proving POSTs go out unkeyed, before recording starts.
		a.mu.Lock()
		posts := a.counts["post"]
		a.mu.Unlock()
		if unkeyed != posts-countOp(seen, "post") {
			t.Errorf("%d unkeyed writes, want only setup's POSTs", unkeyed)
		}
		return seen
	}
}

func countOp(seen map[string]keySeen, op string) int {
	n := 0
	for _, s := range seen {
		if s.op == op {
			n++
		}
	}
	return n
}

func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestRecordSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial, seen := startKeyedFake(t, a)
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	code, out, errOut := runLoad(t, dial, "-scenario", "mixed", "-rate", "400", "-duration", "250ms", "-p99", "10s",
		"-record", path, "-run-id", "r1", "-helpful-keys")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s\nrejected: %v", code, out, errOut, a.bad)
	}
	recs := readRecords(t, path)
	if len(recs) != 101 || recs[0].Op != "start" || recs[0].RunID != "r1" {
		t.Fatalf("want a start line with the run id and 100 requests, got %d lines, first %+v", len(recs), recs[0])
	}
	byKey := seen()
	ops := map[string]int{}
	for _, r := range recs[1:] {
		ops[r.Op]++
		if r.Start <= 0 || r.Ms < 0 || r.Err != "" || r.Status != wantStatus[r.Op] {
			t.Errorf("bad record %+v", r)
		}
		switch r.Op {
		case "post":
			s := byKey[r.Key]
			if !strings.HasPrefix(r.Key, "r1-p") || s.op != "post" || s.summary != r.Key || s.name != "load-r1" {
				t.Errorf("POST %+v: the server saw %+v; want the key as header and summary, name load-r1", r, s)
			}
			if r.Product%2 != 0 || r.Review != 1000+r.Product {
				t.Errorf("POST %+v: want the product and the review id the 201 returned (%d)", r, 1000+r.Product)
			}
		case "helpful":
			if s := byKey[r.Key]; !strings.HasPrefix(r.Key, "r1-h") || s.op != "helpful" || r.Review == 0 {
				t.Errorf("helpful %+v: the server saw %+v; want its key and review", r, s)
			}
		case "report":
			if r.Key != "" || r.Review == 0 {
				t.Errorf("report %+v: want its review and no key", r)
			}
		}
	}
	if countOp(byKey, "duplicate") != 0 {
		t.Errorf("a key was sent twice")
	}
	if ops["post"] == 0 || ops["helpful"] == 0 || ops["post"] != countOp(byKey, "post") || ops["helpful"] != countOp(byKey, "helpful") {
		t.Errorf("recorded %v; the server saw %d keyed POSTs and %d keyed votes", ops, countOp(byKey, "post"), countOp(byKey, "helpful"))
	}
}

func TestRecordTransportErrorSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	refuse := func(string) (net.Conn, error) { return nil, errors.New("dial: connection refused") }
	code, out, _ := runLoad(t, refuse, "-scenario", "list", "-rate", "200", "-duration", "50ms", "-record", path)
	if code != exitThresholds {
		t.Fatalf("exit %d, want %d (every request failed)\n%s", code, exitThresholds, out)
	}
	recs := readRecords(t, path)
	if len(recs) != 11 || len(recs[0].RunID) != 12 {
		t.Fatalf("want a start line with a random run id and 10 requests, got %+v", recs)
	}
	for _, r := range recs[1:] {
		if r.Op != "list" || r.Status != 0 || r.Err != "connection refused" {
			t.Errorf("record %+v: want a list with status 0 and its transport error", r)
		}
	}
}

func TestRecordUsageFailure(t *testing.T) {
	dir := t.TempDir()
	f := func(args ...string) {
		t.Helper()
		code, _, errOut := runLoad(t, nil, append([]string{"-scenario", "list"}, args...)...)
		if code != 2 || errOut == "" {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, errOut)
		}
	}
	f("-run-id", "x")
	f("-helpful-keys")
	f("-record", filepath.Join(dir, "r"), "-run-id", "a b")
	f("-record", filepath.Join(dir, "r"), "-run-id", strings.Repeat("x", 33))
}
