package server

import (
	"bufio"
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

	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/testdb"
)

// TestMemoryBoundUnderFlood runs, against a real instance with an 8 MiB
// cache, the two floods of issue 11: GET /reviews with count=1000000 and a
// new page every request (pages past the end never touch the database,
// pages 2–2147 do and are empty), and the frontend's own pattern,
// count=1000000 over many products. The heap the process holds afterwards
// must be what catwalk_cache_bytes says (within 25 %: these are the
// smallest entries there are, see cache.TestChargedBytesMatchHeap), and the
// heap at any moment within the cache's bytes plus the allowance. Before
// list bodies were copied at their exact size and charged in full, each
// empty page kept a 41 KB buffer charged as 55 bytes: this flood held
// gigabytes.
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
			admin = testdb.Cluster().URL("postgres")
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

	const requests = 60000
	const workers = 16
	var next atomic.Int64
	var bad atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > requests || t.Failed() {
					return
				}
				var uri string
				switch i % 3 {
				case 0: // distinct pages past the end: no SQL
					uri = "/reviews?product_id=1&count=1000000&page=" + strconv.FormatInt(3000+i, 10)
				case 1: // distinct pages inside int4 offsets: empty, from SQL
					uri = fmt.Sprintf("/reviews?product_id=%d&count=1000000&page=%d", i%97+1, i%2146+2)
				default: // the frontend's pattern over many products
					uri = fmt.Sprintf("/reviews?product_id=%d&count=1000000&sort=newest", i+1)
				}
				if s := getStatus(uri); s != 200 {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d requests of the flood failed", n)
	}
	client.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond) // the server sees the connections close

	charged := metric(t, addr, "catwalk_cache_bytes")
	held := liveHeap() - baseline
	t.Logf("catwalk_cache_bytes %d, heap held since the flood began %d (%.3f), peak heap in use %d MiB",
		charged, held, float64(held)/float64(charged), peak.Load()>>20)
	if charged < cacheBytes/2 || charged > cacheBytes {
		t.Errorf("catwalk_cache_bytes %d: want the cache near full, at most %d", charged, cacheBytes)
	}
	if d := float64(held-charged) / float64(charged); d > 0.25 || d < -0.25 {
		t.Errorf("the flood left %d bytes of heap, catwalk_cache_bytes says %d (%.1f %% off)", held, charged, 100*d)
	}
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
