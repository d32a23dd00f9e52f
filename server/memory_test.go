package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/testdb"
)

// TestMemoryBoundUnderFlood runs, against a real instance with an 8 MiB
// cache, the two floods of issue 11. First the frontend's own pattern,
// count=1000000 under every sort over 4,000 products with reviews: the
// heap it leaves must be what catwalk_cache_bytes says within 10 %. Then
// GET /reviews with count=1000000 and a new page every request (pages past
// the end never touch the database, pages 2–2147 do and are empty) and the
// frontend's pattern over products without reviews: the smallest entries
// there are, within 25 % (see cache.TestChargedBytesMatchHeap). The heap,
// and resident memory, must stay within the cache's bytes plus the
// allowance throughout. Before list bodies were copied at their exact size
// and charged in full, each page kept a 41 KB buffer charged as its
// length, and this flood's heap outgrew catwalk_cache_bytes many times
// over (BENCHMARKS.md, "Memory under floods").
//
// The flood runs in a process of its own (this test binary, run again for
// this test alone, on a database of the same cluster), so that no other
// test's memory comes or goes in the heap it measures; that process also
// checks its peak resident memory (VmHWM) against the bound, except under
// the race detector, whose shadow memory is resident too.
func TestMemoryBoundUnderFlood(t *testing.T) {
	if os.Getenv(floodChildEnv) == "" {
		admin := os.Getenv("TEST_DATABASE_URL")
		if admin == "" {
			admin = testdb.Cluster(t).URL("postgres")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryBoundUnderFlood$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), floodChildEnv+"=1", "TEST_DATABASE_URL="+admin, "GOMEMLIMIT=")
		out, err := cmd.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "memory_test.go") {
				t.Log(strings.TrimSpace(line))
			}
		}
		if err != nil {
			t.Fatalf("the flood's process failed: %v\n%s", err, out)
		}
		return
	}
	const cacheBytes = 8 << 20
	// Products 1–4000 have four reviews each (list pages of 1.3–2.5 KB),
	// the others none.
	seed, err := pgxpool.New(context.Background(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Exec(context.Background(), `
		INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
		SELECT p, 1 + r % 5, now() - r * interval '1 day', 'summary ' || p, repeat('body ', 40 + (p * r) % 200),
		       r % 2 = 0, 'name' || r, 'e@example.com'
		FROM generate_series(1, 4000) p, generate_series(1, 4) r`); err != nil {
		t.Fatal(err)
	}
	seed.Close()

	base, _, _, _, _ := startServer(t, Config{CacheMaxBytes: cacheBytes, DBReadPipelines: 2})
	addr := strings.TrimPrefix(base, "http://")
	client := &fasthttp.Client{MaxConnsPerHost: 64}
	defer client.CloseIdleConnections()
	getStatus := func(uri string) int {
		status, _, err := client.Get(nil, base+uri)
		if err != nil {
			t.Error(err)
		}
		return status
	}
	getStatus("/reviews?product_id=1") // warm: pools, buffers

	baseline := liveHeap()
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // the heap at its highest, garbage included
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if h := int64(m.HeapInuse); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	// flood sends requests uri(1), …, uri(n) from 16 connections.
	flood := func(n int64, uri func(i int64) string) {
		var next, bad atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > n || t.Failed() {
						return
					}
					if s := getStatus(uri(i)); s != 200 {
						bad.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if b := bad.Load(); b > 0 {
			t.Fatalf("%d requests of the flood failed", b)
		}
	}
	// held compares the heap left since the baseline with what the cache
	// says it holds.
	held := func(phase string, slack float64) {
		client.CloseIdleConnections()
		time.Sleep(100 * time.Millisecond) // the server sees the connections close
		charged := metric(t, addr, "catwalk_cache_bytes")
		h := liveHeap() - baseline
		t.Logf("%s: catwalk_cache_bytes %d, heap held since the flood began %d (%.3f), peak heap in use %d MiB",
			phase, charged, h, float64(h)/float64(charged), peak.Load()>>20)
		if charged < cacheBytes/2 || charged > cacheBytes {
			t.Errorf("%s: catwalk_cache_bytes %d: want the cache near full, at most %d", phase, charged, cacheBytes)
		}
		if d := float64(h-charged) / float64(charged); d > slack || d < -slack {
			t.Errorf("%s: the flood left %d bytes of heap, catwalk_cache_bytes says %d (%+.1f %%, over %.0f %%)", phase, h, charged, 100*d, 100*slack)
		}
	}

	// The frontend's pattern: count=1000000, every sort, over the products
	// with reviews (12,000 pages, twice what fits).
	sorts := [3]string{"relevant", "newest", "helpful"}
	flood(12000, func(i int64) string {
		return fmt.Sprintf("/reviews?product_id=%d&count=1000000&sort=%s", (i-1)/3+1, sorts[i%3])
	})
	held("frontend pattern", 0.10)

	// The distinct-pages flood, and the frontend's pattern over products
	// without reviews: the smallest entries there are.
	flood(60000, func(i int64) string {
		switch i % 3 {
		case 0: // distinct pages past the end: no SQL
			return "/reviews?product_id=1&count=1000000&page=" + strconv.FormatInt(3000+i, 10)
		case 1: // distinct pages inside int4 offsets: empty, from SQL
			return fmt.Sprintf("/reviews?product_id=%d&count=1000000&page=%d", i%97+1, i%2146+2)
		default: // the frontend's pattern over many products
			return fmt.Sprintf("/reviews?product_id=%d&count=1000000&sort=newest", 4000+i)
		}
	})
	close(stop)
	<-sampled
	held("distinct pages", 0.25)

	// The test's own client shares the process; the bound for the
	// instance alone is CACHE_MAX_BYTES + MemoryAllowance.
	if p := peak.Load(); p > cacheBytes+MemoryAllowance {
		t.Errorf("heap in use peaked at %d MiB, over the %d MiB bound", p>>20, (cacheBytes+MemoryAllowance)>>20)
	}
	if hwm := peakRSS(t); !raceEnabled && hwm > cacheBytes+MemoryAllowance {
		t.Errorf("resident memory peaked at %d MiB, over the %d MiB bound", hwm>>20, (cacheBytes+MemoryAllowance)>>20)
	} else {
		t.Logf("peak resident memory %d MiB (bound %d MiB; race detector %v)", hwm>>20, (cacheBytes+MemoryAllowance)>>20, raceEnabled)
	}
}

// floodChildEnv marks the process that runs the flood.
const floodChildEnv = "CATWALK_FLOOD_CHILD"

// peakRSS is this process's peak resident memory (Linux: VmHWM).
func peakRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// metric reads one unlabelled series from /metrics.
func metric(t *testing.T, addr, name string) int64 {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int64(f)
		}
	}
	t.Fatalf("/metrics lacks %s", name)
	return 0
}
