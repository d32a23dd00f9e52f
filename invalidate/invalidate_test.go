package invalidate

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/catwalk/reviews/schema"
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
	cfg, err := pgx.ParseConfig(testdb.URL(tb))
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
	if _, err := pool.Exec(context.Background(), "SELECT pg_notify($1, $2)", schema.InvalidateChannel, payload); err != nil {
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
	notify(t, schema.InvalidateAll)
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
		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, '7')", schema.InvalidateChannel); err != nil {
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

// rawListener is a plain LISTEN connection: what every instance's listener
// receives, unfiltered.
type rawListener struct {
	conn *pgx.Conn
}

func listenRaw(tb testing.TB) *rawListener {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), testdb.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(context.Background(), "LISTEN "+schema.InvalidateChannel); err != nil {
		tb.Fatal(err)
	}
	return &rawListener{conn: conn}
}

// next waits up to 5 s for the next notification.
func (r *rawListener) next(tb testing.TB) *pgconn.Notification {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := r.conn.WaitForNotification(ctx)
	if err != nil {
		tb.Fatalf("no notification within 5 s: %v", err)
	}
	return n
}

// collect reads notifications until every id of want was announced (each
// payload under 8000 bytes) and returns the payloads carrying ids.
func (r *rawListener) collect(tb testing.TB, want map[uint32]bool) []*pgconn.Notification {
	tb.Helper()
	seen := map[uint32]int{}
	var got []*pgconn.Notification
	for len(seen) < len(want) {
		n := r.next(tb)
		if n.Payload == schema.InvalidateHello {
			continue
		}
		if len(n.Payload) >= 8000 {
			tb.Fatalf("payload of %d bytes: PostgreSQL refuses 8000 and more", len(n.Payload))
		}
		ids, ok := schema.ParseInvalidateIDs(n.Payload, nil)
		if !ok {
			tb.Fatalf("payload %.40q… is not a list of ids", n.Payload)
		}
		for _, id := range ids {
			if !want[id] {
				tb.Fatalf("announced %d, which was never written", id)
			}
			seen[id]++
		}
		got = append(got, n)
	}
	return got
}

// TestAnnouncerBatches: ids queued together go out deduplicated, many to a
// payload, all payloads in one transaction (one notify lock, one commit).
func TestAnnouncerBatches(t *testing.T) {
	raw := listenRaw(t)
	a := NewAnnouncer(connConfig(t), nil)
	want := map[uint32]bool{}
	for i := range uint32(3000) {
		id := 1_000_000 + i*7
		want[id] = true
		a.Add(id)
		a.Add(id) // written twice, announced once
	}
	// Queued before the announcer runs, so they are one batch.
	stop := a.Start()
	defer stop(true)
	hello := raw.next(t)
	if hello.Payload != schema.InvalidateHello || hello.PID == 0 {
		t.Fatalf("first notification %q from %d, want the announcer's greeting", hello.Payload, hello.PID)
	}
	got := raw.collect(t, want)
	// 3,000 ids of 7 digits: 1,000 with their commas fill 7,999 bytes, the
	// most PostgreSQL takes, so 3 payloads.
	if len(got) != 3 {
		t.Fatalf("%d payloads for 3,000 ids, want 3", len(got))
	}
	for _, n := range got {
		if n.PID != hello.PID {
			t.Fatalf("payload sent by backend %d, the announcer is %d", n.PID, hello.PID)
		}
	}
	// The counters move when the announcer's statement returns, which
	// can be after listeners already hold the notifications it committed.
	for deadline := time.Now().Add(10 * time.Second); a.Batches() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if a.Batches() != 1 || a.Products() != 3000 || a.BackendPID() != hello.PID {
		t.Fatalf("batches %d products %d pid %d; want 1, 3000, %d", a.Batches(), a.Products(), a.BackendPID(), hello.PID)
	}
	var app string
	if err := testdb.Pool(t).QueryRow(context.Background(),
		`SELECT application_name FROM pg_stat_activity WHERE pid = $1`, int32(hello.PID)).Scan(&app); err != nil {
		t.Fatal(err)
	}
	if app != AnnouncerName {
		t.Fatalf("announcer's application_name %q, want %q", app, AnnouncerName)
	}
}

// TestAnnouncerResendsAfterFailure: ids whose send fails (the connection
// was cut) are sent again on a new connection; the clean stop says bye.
func TestAnnouncerResendsAfterFailure(t *testing.T) {
	raw := listenRaw(t)
	a := NewAnnouncer(connConfig(t), nil)
	a.RetryInterval = 50 * time.Millisecond
	stop := a.Start()
	first := raw.next(t)
	if first.Payload != schema.InvalidateHello {
		t.Fatalf("first notification %q, want the greeting", first.Payload)
	}
	var ok bool
	if err := testdb.Pool(t).QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", int32(first.PID)).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the announcer's backend: %v %v", ok, err)
	}
	a.Add(5)
	a.Add(6)
	// The first send meets the dead connection (the backend exits as soon
	// as it runs, before it reads anything): 5 and 6 arrive all the same,
	// from a new backend.
	seen := map[string]bool{}
	for !seen["5"] || !seen["6"] {
		n := raw.next(t)
		if n.PID == first.PID {
			t.Fatalf("%q announced by the terminated backend", n.Payload)
		}
		if n.Payload == schema.InvalidateHello {
			continue
		}
		for _, id := range strings.Split(n.Payload, ",") {
			seen[id] = true
		}
	}
	second := a.BackendPID()
	stop(true)
	if n := raw.next(t); n.Payload != schema.InvalidateBye || n.PID != second {
		t.Fatalf("on stop: %q from %d, want bye from %d", n.Payload, n.PID, second)
	}
	if a.Connected() {
		t.Fatal("announcer connected after stop")
	}
}

// TestListenerAppliesLists: a comma-separated payload evicts each product;
// a list with anything else in it clears (safe rather than stale).
func TestListenerAppliesLists(t *testing.T) {
	c := newRecorder()
	mustListen(t, connConfig(t), c)
	notify(t, "3,1,4000000000")
	for range 3 {
		c.expect(t, "product")
	}
	if got, _ := c.state(); len(got) != 3 || got[0] != 3 || got[1] != 1 || got[2] != 4000000000 {
		t.Fatalf("invalidated %v, want [3 1 4000000000]", got)
	}
	notify(t, "5,,6")
	c.expect(t, "clear")
	notify(t, "5,x")
	c.expect(t, "clear")
	c.expectNothing(t) // and no partial evictions before the clear
}

// waitChecks waits for n periodic checks of l (each after the call).
func waitChecks(tb testing.TB, l *Listener, n int) {
	tb.Helper()
	for range n {
		select {
		case <-l.Checked():
		case <-time.After(5 * time.Second):
			tb.Fatal("the listener made no check within 5 s")
		}
	}
}

// TestListenerClearsWhenAnAnnouncerVanishes: an announcer backend that
// goes without its goodbye may have left writes unannounced, so the cache
// is cleared at the next check; one that says goodbye clears nothing.
func TestListenerClearsWhenAnAnnouncerVanishes(t *testing.T) {
	c := newRecorder()
	cfg := connConfig(t)
	l := NewListener(cfg, c, nil, nil)
	l.CheckInterval = 50 * time.Millisecond
	t.Cleanup(l.Start())
	<-l.Listened()
	c.expect(t, "clear")

	start := func() (*Announcer, func(bool)) {
		a := NewAnnouncer(cfg, nil)
		a.RetryInterval = 50 * time.Millisecond
		a.PingInterval = 50 * time.Millisecond
		stop := a.Start()
		select {
		case <-a.ConnectedSignal():
		case <-time.After(5 * time.Second):
			t.Fatal("announcer did not connect")
		}
		return a, stop
	}

	// Cut off (as when its instance is killed): cleared.
	a, stop := start()
	waitChecks(t, l, 2)
	c.expectNothing(t)
	var ok bool
	if err := testdb.Pool(t).QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", int32(a.BackendPID())).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the announcer's backend: %v %v", ok, err)
	}
	c.expect(t, "clear")
	if l.AnnouncersLost() != 1 {
		t.Fatalf("AnnouncersLost() = %d, want 1", l.AnnouncersLost())
	}
	// It reconnects (a new backend, greeted) and stops cleanly: nothing.
	select {
	case <-a.ConnectedSignal():
	case <-time.After(5 * time.Second):
		t.Fatal("announcer did not reconnect")
	}
	stop(true)
	waitChecks(t, l, 3)
	c.expectNothing(t)

	// Stopped without its goodbye (writes may still have been running):
	// cleared, like a death.
	_, stop = start()
	waitChecks(t, l, 2)
	stop(false)
	c.expect(t, "clear")
	if l.AnnouncersLost() != 2 {
		t.Fatalf("AnnouncersLost() = %d, want 2", l.AnnouncersLost())
	}
}

// TestListenerBypassesWhileDown: until LISTEN works, and whenever it
// stops working, the cache serves nothing; once back, it is cleared, then
// used again.
func TestListenerBypassesWhileDown(t *testing.T) {
	cfg := connConfig(t)
	var refuse atomic.Bool
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if refuse.Load() {
			return nil, errors.New("connection refused (test)")
		}
		return dial(ctx, network, addr)
	}
	c := newRecorder()
	l := mustListen(t, cfg, c)
	if c.bypassed() {
		t.Fatal("cache bypassed while listening")
	}
	refuse.Store(true)
	var ok bool
	if err := testdb.Pool(t).QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", int32(l.BackendPID())).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the listener's backend: %v %v", ok, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("the listener still claims to listen 5 s after its backend was terminated")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !c.bypassed() {
		t.Fatal("listener down, yet the cache is not bypassed")
	}
	refuse.Store(false)
	select {
	case <-l.Listened():
	case <-time.After(5 * time.Second):
		t.Fatal("the listener did not come back")
	}
	c.expect(t, "clear") // cleared before the cache is used again
	if c.bypassed() || !l.Listening() {
		t.Fatal("cache still bypassed after the listener came back")
	}
}

// TestAnnouncerGathersWithinInterval: under a steady stream of writes the
// announcer sends at most one transaction per MinInterval (every id still
// announced); without it, it sends one per write or two.
func TestAnnouncerGathersWithinInterval(t *testing.T) {
	raw := listenRaw(t)
	a := NewAnnouncer(connConfig(t), nil)
	a.MinInterval = 100 * time.Millisecond
	stop := a.Start()
	defer stop(true)
	if hello := raw.next(t); hello.Payload != schema.InvalidateHello {
		t.Fatalf("first notification %q, want the greeting", hello.Payload)
	}
	want := map[uint32]bool{}
	start := time.Now()
	for i := uint32(0); time.Since(start) < 500*time.Millisecond; i++ {
		id := 2_000_000 + i
		want[id] = true
		a.Add(id)
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	raw.collect(t, want)
	// One send at once, then at most one per 100 ms of the stream, and the
	// one after it ends.
	if most := uint64(elapsed/a.MinInterval) + 2; a.Batches() > most {
		t.Fatalf("%d sends for %d ids over %v, want at most %d", a.Batches(), len(want), elapsed, most)
	}
	t.Logf("%d ids in %d sends over %v", len(want), a.Batches(), elapsed)
}
