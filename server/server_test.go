package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/catwalk/reviews/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// written is closed (and forgotten) by the next Write.
	written chan struct{}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written != nil {
		close(l.written)
		l.written = nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor blocks until the log holds s, failing after a minute.
func (l *lockedBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		l.mu.Lock()
		found := strings.Contains(l.b.String(), s)
		if l.written == nil {
			l.written = make(chan struct{})
		}
		written := l.written
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-written:
		case <-timeout:
			t.Fatalf("log lacks %q after a minute:\n%s", s, l.String())
		}
	}
}

// startServer runs Run on a loopback port; cancel stops it, and done is
// closed when Run has returned *runErr.
func startServer(t *testing.T, cfg Config) (base string, cancel context.CancelFunc, done <-chan struct{}, runErr *error, logs *lockedBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs = &lockedBuffer{}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = testdb.URL(t)
	}
	cfg.Listener = ln
	cfg.Log = slog.New(slog.NewJSONHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	runErr = new(error)
	go func() {
		*runErr = Run(ctx, cfg)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	base = "http://" + ln.Addr().String()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, cancel, finished, runErr, logs
}

// waitReady polls /readyz until it answers 200 (the pools warm), failing
// after a deadline generous enough for a loaded machine.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, _, body := get(t, base+"/readyz")
		if status == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %s", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestMetrics: /metrics holds, in Prometheus text format, requests by route
// pattern and status, latency histograms, cache, pool and listener series,
// and the Go runtime's.
func TestMetrics(t *testing.T) {
	base, _, _, _, _ := startServer(t, Config{DBReadPipelines: 2})
	waitReady(t, base)
	get(t, base+"/healthz")
	get(t, base+"/healthz")
	get(t, base+"/readyz")
	get(t, base+"/no/such/route")
	get(t, base+"/reviews/12/helpful") // GET on a PUT route: 405, unmatched

	status, h, body := get(t, base+"/metrics")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %q", status, h.Get("Content-Type"))
	}
	f := func(series, want string) {
		t.Helper()
		for _, line := range strings.Split(body, "\n") {
			if name, val, ok := strings.Cut(line, " "); ok && name == series {
				if want != "" && val != want {
					t.Errorf("%s = %s, want %s", series, val, want)
				}
				return
			}
		}
		t.Errorf("/metrics lacks %s", series)
	}
	f(`catwalk_http_requests_total{route="/healthz",method="GET",status="200"}`, "3") // + the start-up probe
	f(`catwalk_http_requests_total{route="/readyz",method="GET",status="200"}`, "2")  // + waitReady's last
	f(`catwalk_http_requests_total{route="unmatched",method="GET",status="404"}`, "1")
	f(`catwalk_http_requests_total{route="unmatched",method="GET",status="405"}`, "1")
	f(`catwalk_http_request_duration_seconds_bucket{route="/healthz",method="GET",le="+Inf"}`, "3")
	f(`catwalk_http_request_duration_seconds_bucket{route="/healthz",method="GET",le="0.001"}`, "")
	f(`catwalk_http_request_duration_seconds_count{route="/readyz",method="GET"}`, "")
	f(`catwalk_http_request_duration_seconds_sum{route="/readyz",method="GET"}`, "")
	f("catwalk_cache_hits_total", "0")
	f("catwalk_cache_misses_total", "0")
	f("catwalk_cache_evictions_total", "0")
	f("catwalk_cache_invalidations_total", "0")
	f("catwalk_cache_bytes", "0")
	f("catwalk_listener_reconnects_total", "0")
	f("catwalk_listener_announcers_lost_total", "")
	f("catwalk_announce_batches_total", "")
	f("catwalk_announce_pending", "")
	f("catwalk_cache_coherent", "1") // Run waits for the listener and announcer before serving
	f(`catwalk_db_pool_max_conns{pool="primary"}`, "")
	f(`catwalk_db_pool_acquired_conns{pool="primary"}`, "0")
	f(`catwalk_db_pool_idle_conns{pool="primary"}`, "")
	f(`catwalk_db_pool_acquires_total{pool="primary"}`, "")
	f(`catwalk_db_pool_max_conns{pool="primary_reads"}`, "2") // cfg.DBReadPipelines
	f(`catwalk_db_pool_warm{pool="primary"}`, "1")            // ready, so warm
	f(`catwalk_db_pool_warm{pool="primary_reads"}`, "1")
	f(`catwalk_db_read_batches_total{pool="primary"}`, "0") // no read yet
	f(`catwalk_db_read_statements_total{pool="primary"}`, "0")
	f("go_goroutines", "")
	f("process_resident_memory_bytes", "")
	if strings.Contains(body, `pool="replica"`) {
		t.Errorf("replica series without a replica:\n%s", body)
	}

	// The previous scrape is itself counted by the next one.
	_, _, body = get(t, base+"/metrics")
	if !strings.Contains(body, `catwalk_http_requests_total{route="/metrics",method="GET",status="200"} 1`) {
		t.Errorf("/metrics does not count itself")
	}
}

// TestShutdownDrains: on cancel, /readyz turns 503 (with Retry-After) and
// responses close their connections for DrainDelay while the server still
// serves, then it stops accepting and Run returns nil. DrainDelay is the
// window the test's requests must fall in: long enough for a loaded machine.
func TestShutdownDrains(t *testing.T) {
	base, cancel, done, runErr, logs := startServer(t, Config{DrainDelay: 3 * time.Second, ShutdownTimeout: 5 * time.Second})
	waitReady(t, base)
	cancel()
	// Run logs "draining" just before it turns /readyz and then the
	// connections: wait for the line, then ask /healthz again for the
	// nanoseconds until its answer closes the connection.
	logs.waitFor(t, `"msg":"draining"`)
	for deadline := time.Now().Add(time.Second); ; {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatalf("/healthz while draining: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/healthz while draining: %d, want 200", resp.StatusCode)
		}
		if resp.Close {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz while draining keeps its connection open, want Connection: close")
		}
	}
	status, h, body := get(t, base+"/readyz")
	if status != 503 || h.Get("Retry-After") != "1" || body != `{"error":"draining"}` {
		t.Errorf("/readyz while draining: %d Retry-After %q %q, want 503, 1, draining", status, h.Get("Retry-After"), body)
	}
	select {
	case <-done:
		if *runErr != nil {
			t.Errorf("Run: %v", *runErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain delay")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("still accepting connections after Run returned")
	}
	for _, want := range []string{`"msg":"draining"`, "in-flight requests finished"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestRunFailure: Run refuses to start on a database it cannot use.
func TestRunFailure(t *testing.T) {
	f := func(cfg Config, want string) {
		t.Helper()
		cfg.Addr = "127.0.0.1:0"
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := Run(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%+v) = %v, want an error containing %q", cfg, err, want)
		}
	}
	f(Config{DatabaseURL: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"}, "connect")
	f(Config{DatabaseURL: testdb.URL(t), DatabaseReadURL: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"}, "read replica")
	f(Config{DatabaseURL: testdb.NewEmptyDatabase(t)}, "behind")
}

// TestRunWithReplica: with DatabaseReadURL on a real streaming standby the
// server starts, stays ready, and /metrics shows both pools and the
// replica's lag; DBReadPipelines reaches the store.
func TestRunWithReplica(t *testing.T) {
	base, _, _, _, logs := startServer(t, Config{DatabaseReadURL: testdb.ReplicaURL(t), DBReadPipelines: 3})
	waitReady(t, base)
	_, _, body := get(t, base+"/metrics")
	for _, want := range []string{
		`catwalk_db_pool_max_conns{pool="primary"} `,
		`catwalk_db_pool_max_conns{pool="replica"} 4`, // 3 pipelines and the probe
		`catwalk_db_pool_max_conns{pool="primary_reads"} 3`,
		`catwalk_replica_lag_seconds `,
		`catwalk_reads_total{pool="replica"} `,
		`catwalk_reads_total{pool="primary"} `,
		`catwalk_db_read_batches_total{pool="replica"} `,
		`catwalk_db_read_statements_total{pool="replica"} `,
	} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(logs.String(), `"replica":true,"read_pipelines":3`) {
		t.Errorf("start-up log does not mention the replica:\n%s", logs.String())
	}
}
