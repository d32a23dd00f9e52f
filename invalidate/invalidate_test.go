package invalidate

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// recorder is a Cache that reports what it was told.
type recorder struct {
	mu       sync.Mutex
	products []uint32
	clears   int
	bypass   bool
	events   chan string
}

func newRecorder() *recorder { return &recorder{events: make(chan string, 100)} }

func (r *recorder) InvalidateProduct(p uint32) {
	r.mu.Lock()
	r.products = append(r.products, p)
	r.mu.Unlock()
	r.events <- "product"
}

func (r *recorder) Clear() {
	r.mu.Lock()
	r.clears++
	r.mu.Unlock()
	r.events <- "clear"
}

// SetBypass records the state without an event: the tests that count
// events predate it.
func (r *recorder) SetBypass(on bool) {
	r.mu.Lock()
	r.bypass = on
	r.mu.Unlock()
}

func (r *recorder) bypassed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bypass
}

func (r *recorder) state() ([]uint32, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint32(nil), r.products...), r.clears
}

// expect waits up to a second for the next event.
func (r *recorder) expect(tb testing.TB, want string) {
	tb.Helper()
	select {
	case got := <-r.events:
		if got != want {
			tb.Fatalf("cache was told %q, want %q", got, want)
		}
	case <-time.After(time.Second):
		tb.Fatalf("cache was not told %q within a second", want)
	}
}

// expectNothing checks no event arrives for a while (a notification that
// must not be sent has no other observable effect).
func (r *recorder) expectNothing(tb testing.TB) {
	tb.Helper()
	select {
	case got := <-r.events:
		tb.Fatalf("cache was told %q, want nothing", got)
	case <-time.After(300 * time.Millisecond):
	}
}

func connConfig(tb testing.TB) *pgx.ConnConfig {
	tb.Helper()
	cfg, err := pgx.ParseConfig(testdb.URL())
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// mustListen starts a listener and waits for its first LISTEN (which
// clears the cache once).
func mustListen(tb testing.TB, cfg *pgx.ConnConfig, c *recorder) *Listener {
	tb.Helper()
	l := NewListener(cfg, c, nil, nil)
	l.RetryInterval = 50 * time.Millisecond
	tb.Cleanup(l.Start())
	select {
	case <-l.Listened():
	case <-time.After(5 * time.Second):
		tb.Fatal("listener did not start listening")
	}
	c.expect(tb, "clear")
	return l
}

func notify(tb testing.TB, payload string) {
	tb.Helper()
	pool := testdb.Pool(tb)
	if _, err := pool.Exec(context.Background(), "SELECT pg_notify($1, $2)", queries.InvalidateChannel, payload); err != nil {
		tb.Fatal(err)
	}
}

func TestListenerEvictsNotifiedProducts(t *testing.T) {
	c := newRecorder()
	l := mustListen(t, connConfig(t), c)
	notify(t, "42")
	c.expect(t, "product")
	notify(t, "4294967295")
	c.expect(t, "product")
	if got, _ := c.state(); len(got) != 2 || got[0] != 42 || got[1] != 4294967295 {
		t.Fatalf("invalidated %v, want [42 4294967295]", got)
	}
	// A payload it cannot read: safer to forget everything.
	notify(t, "not-a-product")
	c.expect(t, "clear")
	// The ETL's switch-over asks every instance to forget everything.
	notify(t, queries.InvalidateAll)
	c.expect(t, "clear")
	if l.Notifications() != 4 || l.Reconnects() != 0 || !l.Listening() {
		t.Fatalf("notifications %d reconnects %d listening %v", l.Notifications(), l.Reconnects(), l.Listening())
	}
}

func TestListenerHearsOnlyCommits(t *testing.T) {
	c := newRecorder()
	mustListen(t, connConfig(t), c)
	pool := testdb.Pool(t)
	ctx := context.Background()
	send := func(commit bool) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, '7')", queries.InvalidateChannel); err != nil {
			t.Fatal(err)
		}
		c.expectNothing(t) // not before the commit
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	send(false)
	c.expectNothing(t)
	send(true)
	c.expect(t, "product")
}

func TestListenerReconnectsAndClears(t *testing.T) {
	c := newRecorder()
	l := mustListen(t, connConfig(t), c)
	pool := testdb.Pool(t)
	for want := uint64(1); want <= 2; want++ {
		var ok bool
		if err := pool.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", l.BackendPID()).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminate the listener's backend: %v %v", ok, err)
		}
		c.expect(t, "clear") // reconnected within a second, cache cleared
		if got := l.Reconnects(); got != want {
			t.Fatalf("Reconnects() = %d, want %d", got, want)
		}
		notify(t, "9")
		c.expect(t, "product") // and listening again
	}
}

func TestListenerRetriesUntilTheServerAnswers(t *testing.T) {
	cfg := connConfig(t)
	var attempts atomic.Int32
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if attempts.Add(1) <= 3 {
			return nil, errors.New("connection refused (test)")
		}
		return dial(ctx, network, addr)
	}
	c := newRecorder()
	l := mustListen(t, cfg, c)
	if n := attempts.Load(); n < 4 {
		t.Fatalf("%d dials, want 3 failures then a success", n)
	}
	notify(t, "11")
	c.expect(t, "product")
	if l.Reconnects() != 0 {
		t.Fatalf("Reconnects() = %d before any connection was lost", l.Reconnects())
	}
}

func TestListenerSurvivesSilence(t *testing.T) {
	cfg := connConfig(t)
	c := newRecorder()
	l := NewListener(cfg, c, nil, nil)
	l.CheckInterval = 20 * time.Millisecond // many wait timeouts and checks
	t.Cleanup(l.Start())
	<-l.Listened()
	c.expect(t, "clear")
	time.Sleep(200 * time.Millisecond)
	notify(t, "12")
	c.expect(t, "product")
	if l.Reconnects() != 0 {
		t.Fatalf("an idle connection was dropped %d times", l.Reconnects())
	}
}
