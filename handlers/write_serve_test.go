package handlers_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/catwalk/reviews/invalidate"
	"github.com/catwalk/reviews/server"
	"github.com/catwalk/reviews/testdb"
)

// instance is one `catwalk serve` process: server.Run on an in-memory listener.
func instance(tb testing.TB) *fasthttp.Client {
	tb.Helper()
	ln := fasthttputil.NewInmemoryListener()
	url := testdb.URL(tb) // here: a goroutine must not fail tb
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			DatabaseURL: url, MaxPageSize: 10000, CacheMaxBytes: 8 << 20,
			CacheTTL: time.Minute, MaxBodyBytes: 64 << 10, ShutdownTimeout: time.Second, Listener: ln,
		})
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("server.Run: %v", err)
		}
	})
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

func call(tb testing.TB, c *fasthttp.Client, method, path, body string, out any) int {
	tb.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://catwalk" + path)
	req.Header.SetMethod(method)
	if body != "" {
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
	}
	if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
		tb.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body(), out); err != nil {
			tb.Fatalf("%s %s: %d %s", method, path, resp.StatusCode(), resp.Body())
		}
	}
	return resp.StatusCode()
}

// listeners counts the invalidation listeners' sessions on the test database.
func listeners(tb testing.TB, pool *pgxpool.Pool) int {
	tb.Helper()
	var n int
	err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, invalidate.ListenerName).Scan(&n)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// waitListeners waits up to 5 s for want sessions in LISTEN.
func waitListeners(tb testing.TB, pool *pgxpool.Pool, want int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for listeners(tb, pool) != want {
		if time.Now().After(deadline) {
			tb.Fatalf("%d sessions in LISTEN, want %d", listeners(tb, pool), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// server.Run starts an invalidation listener with the server, stops it with
// the server, and serves the write routes.
func TestServeWiresTheWritePath(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	base := listeners(t, pool)
	t.Run("Serving", func(t *testing.T) {
		c := instance(t)
		var out struct {
			Field string `json:"field"`
		}
		if st := call(t, c, "PUT", "/reviews/2147483000/helpful", "", &out); st != 404 || out.Field != "review_id" {
			t.Fatalf("PUT helpful on an unknown review: %d %+v", st, out)
		}
		waitListeners(t, pool, base+1)
	}) // the subtest's cleanup stops the server
	waitListeners(t, pool, base)
}
