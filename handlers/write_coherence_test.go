package handlers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/invalidate"
)

// listed returns the helpfulness GET /reviews shows for review id of
// product (-1 when it is not listed); safe from any goroutine.
func (s *testServer) listed(product int32, id int64) (int, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(fmt.Sprintf("http://catwalk/reviews?product_id=%d&sort=newest&count=100", product))
	if err := s.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		return 0, err
	}
	if resp.StatusCode() != 200 {
		return 0, fmt.Errorf("GET /reviews: %d %s", resp.StatusCode(), resp.Body())
	}
	var body struct {
		Results []struct {
			ReviewID    int64 `json:"review_id"`
			Helpfulness int   `json:"helpfulness"`
		} `json:"results"`
	}
	if err := json.Unmarshal(resp.Body(), &body); err != nil {
		return 0, err
	}
	for _, r := range body.Results {
		if r.ReviewID == id {
			return r.Helpfulness, nil
		}
	}
	return -1, nil
}

// showsWithin polls s until it lists review id of product with helpfulness
// want, for at most limit, and returns how long that took.
func (s *testServer) showsWithin(product int32, id int64, want int, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		got, err := s.listed(product, id)
		if err != nil {
			return 0, err
		}
		if got == want {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("review %d of product %d: helpfulness %d after %v, want %d", id, product, got, limit, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mustCached makes s cache product's list page with review id showing
// want, and proves the next GET is a cache hit.
func (s *testServer) mustCached(tb testing.TB, product int32, id int64, want int) {
	tb.Helper()
	for range 20 {
		if _, err := s.showsWithin(product, id, want, time.Second); err != nil {
			tb.Fatal(err)
		}
		s.cache.Wait()
		hits := s.cache.Stats().Hits
		if got, err := s.listed(product, id); err != nil || got != want {
			tb.Fatalf("listed %d (%v), want %d", got, err, want)
		}
		if s.cache.Stats().Hits > hits {
			return
		}
	}
	tb.Fatal("the list page never stayed in the cache")
}

// TestCoherenceUnderConcurrentWrites: writers on two instances at once,
// each write visible through the other instance within a second.
func TestCoherenceUnderConcurrentWrites(t *testing.T) {
	a, b := mustInstance(t), mustInstance(t)
	const writers, rounds = 8, 12
	type target struct {
		product int32
		review  int64
	}
	targets := make([]target, writers)
	for i := range targets {
		p := mustProduct(t, a.pool, 2)
		targets[i] = target{p.id, createdID(t, a.post(t, p.reviewJSON()))}
	}
	var wg sync.WaitGroup
	var slowest atomic.Int64
	for i, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= rounds; n++ {
				// Alternate the writing instance; the other one has the
				// product cached (a GET just before the write fills it).
				w, r := a, b
				if (i+n)%2 == 0 {
					w, r = b, a
				}
				if _, err := r.listed(tg.product, tg.review); err != nil {
					t.Error(err)
					return
				}
				if st, err := w.putStatus(fmt.Sprintf("/reviews/%d/helpful", tg.review)); err != nil || st != 204 {
					t.Errorf("PUT helpful: %d %v", st, err)
					return
				}
				took, err := r.showsWithin(tg.product, tg.review, n, time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				for old := slowest.Load(); int64(took) > old && !slowest.CompareAndSwap(old, int64(took)); old = slowest.Load() {
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d writes through two instances; slowest to show on the other: %v", writers*rounds, time.Duration(slowest.Load()))
	if a.coherence.Announcer.Products() == 0 || b.coherence.Announcer.Products() == 0 {
		t.Fatal("an instance announced nothing")
	}
}

// putStatus is put for any goroutine.
func (s *testServer) putStatus(path string) (int, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://catwalk" + path)
	req.Header.SetMethod("PUT")
	if err := s.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		return 0, err
	}
	return resp.StatusCode(), nil
}

// faultyNet stands for the network between one instance and PostgreSQL:
// it can swallow what the instance sends (announcements leave nothing on
// the server) and then die like the instance's process would (every socket
// closed at once, no goodbye, nothing reconnects).
type faultyNet struct {
	mu      sync.Mutex
	conns   []net.Conn
	swallow atomic.Bool
	dead    atomic.Bool
}

func (f *faultyNet) dialer(dial pgconnDial) pgconnDial {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if f.dead.Load() {
			return nil, errors.New("the instance is dead (test)")
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		return &swallowingConn{Conn: c, f: f}, nil
	}
}

// kill closes every socket abruptly, as the kernel does for a process
// killed with SIGKILL.
func (f *faultyNet) kill() {
	f.dead.Store(true)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

type pgconnDial = func(ctx context.Context, network, addr string) (net.Conn, error)

type swallowingConn struct {
	net.Conn
	f *faultyNet
}

func (c *swallowingConn) Write(p []byte) (int, error) {
	if c.f.swallow.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// TestDeadWritersUnannouncedWrite: an instance commits a write, its
// announcement never leaves, and it dies. The other instance serves the
// new value within the stated bound: its listener's next check finds the
// dead instance's announcer gone without a goodbye and clears the cache,
// at most CheckInterval + CheckTimeout (3 s) after the backend went,
// typically CheckInterval (1 s) and a few milliseconds.
func TestDeadWritersUnannouncedWrite(t *testing.T) {
	b := mustInstance(t)
	var fault faultyNet
	pool := mustPool(t)
	cfg := pool.Config().ConnConfig.Copy()
	cfg.DialFunc = fault.dialer(cfg.DialFunc)
	a := mustInstanceOn(t, pool, cfg, nil)

	p := mustProduct(t, a.pool, 2)
	id := createdID(t, a.post(t, p.reviewJSON()))
	b.mustCached(t, p.id, id, 0)

	fault.swallow.Store(true)
	noContent(t, a.put(t, fmt.Sprintf("/reviews/%d/helpful", id)))
	if h, _ := helpfulness(t, a, id); h != 1 {
		t.Fatalf("helpfulness %d in the database, want 1", h)
	}
	// The write is committed and evicted on A, but B never heard of it.
	if got, err := b.listed(p.id, id); err != nil || got != 0 {
		t.Fatalf("B lists helpfulness %d (%v) before A died; want the cached 0 (the announcement must not arrive)", got, err)
	}
	fault.kill()
	bound := b.coherence.Listener.CheckInterval + b.coherence.Listener.CheckTimeout
	took, err := b.showsWithin(p.id, id, 1, bound)
	if err != nil {
		t.Fatalf("after the writer died: %v", err)
	}
	t.Logf("B served the dead writer's unannounced write %v after it died (bound %v)", took, bound)
	if b.coherence.Listener.AnnouncersLost() == 0 {
		t.Fatal("B cleared its cache, but not for the dead announcer")
	}
}

// TestListenerDownBypassesCache (issue 12): an instance whose listener
// cannot reconnect serves nothing from its cache and says so on /readyz,
// then recovers by itself once it can connect again.
func TestListenerDownBypassesCache(t *testing.T) {
	pool := mustPool(t)
	ctx := context.Background()
	role := fmt.Sprintf("catwalk_listener_%d", nextProduct.Add(1))
	if _, err := pool.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()) }) //nolint:errcheck // best effort
	login := func(on bool) {
		t.Helper()
		opt := "NOLOGIN"
		if on {
			opt = "LOGIN"
		}
		if _, err := pool.Exec(ctx, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" "+opt); err != nil {
			t.Fatal(err)
		}
	}
	// A's coherence connections log in as the role; its pools do not.
	cfg := pool.Config().ConnConfig.Copy()
	cfg.User = role
	a := mustInstanceOn(t, mustPool(t), cfg, nil)
	b := mustInstance(t)
	p := mustProduct(t, pool, 2)
	id := createdID(t, b.post(t, p.reviewJSON()))
	a.mustCached(t, p.id, id, 0)
	if r := a.do(t, "GET", "/readyz", "", ""); r.status != 200 {
		t.Fatalf("readyz %d %s while coherent", r.status, r.body)
	}

	// The listener's connection goes and cannot come back.
	login(false)
	var ok bool
	if err := pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(a.coherence.Listener.BackendPID())).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate A's listener: %v %v", ok, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.coherence.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatal("A's listener still up 5 s after its backend was terminated")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.coherence.Err(); !errors.Is(err, invalidate.ErrListenerDown) {
		t.Fatalf("coherence %v, want listener down", err)
	}
	r := a.do(t, "GET", "/readyz", "", "")
	if r.status != 503 || r.body != `{"error":"cache coherence lost: listener down"}` || r.retryAfter != "1" {
		t.Fatalf("readyz while the listener is down: %d %s (Retry-After %q)", r.status, r.body, r.retryAfter)
	}

	// A write through B that A cannot hear: A must not serve its cached page.
	noContent(t, b.put(t, fmt.Sprintf("/reviews/%d/helpful", id)))
	hits := a.cache.Stats().Hits
	for range 3 {
		if got, err := a.listed(p.id, id); err != nil || got != 1 {
			t.Fatalf("A lists helpfulness %d (%v) while its listener is down, want 1 from the database", got, err)
		}
		a.cache.Wait()
	}
	if a.cache.Stats().Hits != hits {
		t.Fatal("A answered from its cache while its listener was down")
	}

	// Back: ready again, cache in use, and writes heard within a second.
	login(true)
	deadline = time.Now().Add(5 * time.Second)
	for a.coherence.Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("A still incoherent 5 s after its role may log in again: %v", a.coherence.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := a.do(t, "GET", "/readyz", "", ""); r.status != 200 {
		t.Fatalf("readyz %d %s after recovery", r.status, r.body)
	}
	a.mustCached(t, p.id, id, 1)
	noContent(t, b.put(t, fmt.Sprintf("/reviews/%d/helpful", id)))
	if _, err := a.showsWithin(p.id, id, 2, time.Second); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// TestWritesDoNotNotify: a write's own transaction sends no notification
// (it would take PostgreSQL's cluster-wide notify lock through its commit);
// the product reaches the channel from the instance's announcer alone.
func TestWritesDoNotNotify(t *testing.T) {
	a := mustInstance(t)
	p := mustProduct(t, a.pool, 2)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN catwalk_invalidate"); err != nil {
		t.Fatal(err)
	}
	announcer := a.coherence.Announcer.BackendPID()
	id := createdID(t, a.post(t, p.reviewJSON()))
	noContent(t, a.put(t, fmt.Sprintf("/reviews/%d/helpful", id)))
	noContent(t, a.put(t, fmt.Sprintf("/reviews/%d/report", id)))
	// Then a marker from the test's own session: a notification sent inside
	// the writes' transactions would arrive before it (the announcer's may
	// come before or after).
	if _, err := a.pool.Exec(ctx, "SELECT pg_notify('catwalk_invalidate', 'marker')"); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(p.id)
	announced, marked := false, false
	for !announced || !marked {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("waiting for notifications: %v", err)
		}
		if n.Payload == "marker" {
			marked = true
			continue
		}
		if ids, ok := parseList(n.Payload); ok && ids[want] {
			if n.PID != announcer {
				t.Fatalf("product %s notified by backend %d, not the announcer (%d): a write notified inside its transaction", want, n.PID, announcer)
			}
			announced = true
		}
	}
}

func parseList(payload string) (map[string]bool, bool) {
	out := map[string]bool{}
	for _, s := range strings.Split(payload, ",") {
		if s == "" {
			return nil, false
		}
		out[s] = true
	}
	return out, true
}
