package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

// lossPools are a write pool and a read pool of one connection each, as
// the server wires them, whose backends a test can end.
type lossPools struct {
	writes, reads *pgxpool.Pool
	s             *testServer
}

// newLossPools opens the pools on writesURL and readsURL. pgxpool pings a connection that
// idled over a second before handing it out, and would quietly replace a
// dead one: the test turns that off so that a request surely meets the
// lost connection, whatever the machine's speed.
func newLossPools(t *testing.T, writesURL, readsURL, name string) *lossPools {
	t.Helper()
	open := func(role, dbURL string) *pgxpool.Pool {
		cfg, err := pgxpool.ParseConfig(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns, cfg.MinConns = 1, 1
		cfg.ConnConfig.RuntimeParams["application_name"] = name + "-" + role
		cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	lp := &lossPools{writes: open("writes", writesURL), reads: open("reads", readsURL)}
	store := queries.Open(lp.writes, queries.Options{Reads: lp.reads, Pipelines: 1})
	// No cache: every GET reaches the database.
	lp.s = serveHandler(t, New(store, nil, Config{}, nil), nil, lp.writes)
	return lp
}

// terminate ends the backends of application name app with
// pg_terminate_backend (PostgreSQL answers their next use with FATAL 57P01
// admin_shutdown and closes them) and waits until they are gone.
func terminate(t *testing.T, admin *pgxpool.Pool, app string) {
	t.Helper()
	var n int
	if err := admin.QueryRow(context.Background(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("terminated %d backends of %s, want 1", n, app)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := admin.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend of %s still there", app)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// want503 checks a response is the API's 503 with Retry-After.
func want503(t *testing.T, what string, r response) {
	t.Helper()
	var e struct{ Error string }
	if r.status != 503 || r.retryAfter == "" || json.Unmarshal([]byte(r.body), &e) != nil || e.Error == "" {
		t.Errorf("%s after the connection was lost: %d (Retry-After %q) %s; want 503 with Retry-After", what, r.status, r.retryAfter, r.body)
	}
}

// TestLostConnectionIs503: a backend ended by pg_terminate_backend (FATAL
// 57P01) under the read pool or the write pool makes the request that
// meets it answer 503 with Retry-After, never 500; the connection is
// dropped, and the next request succeeds on a new one.
func TestLostConnectionIs503(t *testing.T) {
	admin := mustPool(t)
	p := mustProduct(t, admin, 2)
	lp := newLossPools(t, testdb.URL(t), testdb.URL(t), "loss")
	s := lp.s
	review := createdID(t, s.post(t, p.reviewJSON()))

	for _, c := range []struct {
		what, pool string
		do         func() response
		ok         int
	}{
		{"GET /reviews", "reads", func() response { return s.do(t, "GET", fmt.Sprintf("/reviews?product_id=%d", p.id), "", "") }, 200},
		{"GET /reviews/meta", "reads", func() response { return s.do(t, "GET", fmt.Sprintf("/reviews/meta?product_id=%d", p.id), "", "") }, 200},
		{"POST /reviews", "writes", func() response { return s.post(t, p.reviewJSON()) }, 201},
		{"PUT helpful", "writes", func() response { return s.put(t, fmt.Sprintf("/reviews/%d/helpful", review)) }, 204},
		{"PUT report", "writes", func() response { return s.put(t, fmt.Sprintf("/reviews/%d/report", review)) }, 204},
	} {
		if r := c.do(); r.status != c.ok {
			t.Fatalf("%s before: %d %s", c.what, r.status, r.body)
		}
		terminate(t, admin, "loss-"+c.pool)
		want503(t, c.what, c.do())
		for i := range 3 {
			if r := c.do(); r.status != c.ok {
				t.Errorf("%s, request %d after the 503: %d %s; want %d on a new connection", c.what, i+1, r.status, r.body, c.ok)
			}
		}
	}
}

// TestCutConnectionIs503: a connection cut under the driver (the server
// gone at once, as after pg_ctl stop -m immediate: unexpected EOF) answers
// 503 too. A proxy between each pool and PostgreSQL cuts its connections
// (closes them, as the backends' exit does).
func TestCutConnectionIs503(t *testing.T) {
	admin := mustPool(t)
	p := mustProduct(t, admin, 2)
	writes, reads := newCutProxy(t), newCutProxy(t)
	lp := newLossPools(t, writes.url(t, testdb.URL(t)), reads.url(t, testdb.URL(t)), "cut")
	s := lp.s
	review := createdID(t, s.post(t, p.reviewJSON()))
	for _, c := range []struct {
		what string
		px   *cutProxy
		do   func() response
		ok   int
	}{
		{"GET /reviews", reads, func() response { return s.do(t, "GET", fmt.Sprintf("/reviews?product_id=%d", p.id), "", "") }, 200},
		{"GET /reviews/meta", reads, func() response { return s.do(t, "GET", fmt.Sprintf("/reviews/meta?product_id=%d", p.id), "", "") }, 200},
		{"POST /reviews", writes, func() response { return s.post(t, p.reviewJSON()) }, 201},
		{"PUT helpful", writes, func() response { return s.put(t, fmt.Sprintf("/reviews/%d/helpful", review)) }, 204},
	} {
		if r := c.do(); r.status != c.ok {
			t.Fatalf("%s before: %d %s", c.what, r.status, r.body)
		}
		c.px.cut()
		want503(t, c.what, c.do())
		if r := c.do(); r.status != c.ok {
			t.Errorf("%s after the 503: %d %s; want %d on a new connection", c.what, r.status, r.body, c.ok)
		}
	}
}

// cutProxy forwards TCP connections to PostgreSQL until told to cut them
// all (both directions closed at once, nothing more sent).
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); px.cut() })
	return px
}

// url starts forwarding to dbURL's server and returns dbURL through the
// proxy.
func (px *cutProxy) url(t *testing.T, dbURL string) string {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	target := net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port))
	if strings.HasPrefix(cfg.ConnConfig.Host, "/") {
		target = fmt.Sprintf("%s/.s.PGSQL.%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port)
	}
	go func() {
		for {
			c, err := px.ln.Accept()
			if err != nil {
				return
			}
			network := "tcp"
			if strings.HasPrefix(target, "/") {
				network = "unix"
			}
			up, err := net.Dial(network, target)
			if err != nil {
				c.Close()
				continue
			}
			px.mu.Lock()
			px.conns = append(px.conns, c, up)
			px.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("host")
	q.Del("port")
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	u.Host = px.ln.Addr().String()
	return u.String()
}

func (px *cutProxy) cut() {
	px.mu.Lock()
	defer px.mu.Unlock()
	for _, c := range px.conns {
		c.Close()
	}
	px.conns = nil
}
