package e2e

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

// dropOnce sits between NGINX and a real instance: it passes requests on
// and answers back, except that the first request any of a group sees is
// processed by the instance and then the connection to NGINX is closed
// without the answer, as when an instance dies right after committing.
type dropOnce struct {
	addr    string
	backend string
	dropped *atomic.Bool
}

func startDropOnce(t *testing.T, backend string, dropped *atomic.Bool) *dropOnce {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	d := &dropOnce{addr: ln.Addr().String(), backend: backend, dropped: dropped}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go d.serve(c)
		}
	}()
	return d
}

func (d *dropOnce) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", d.backend)
		if err != nil {
			return
		}
		err = req.Write(b)
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(bufio.NewReader(b), req)
		}
		if err != nil {
			b.Close()
			return
		}
		if d.dropped.CompareAndSwap(false, true) {
			resp.Body.Close()
			b.Close()
			return // processed, never answered
		}
		err = resp.Write(c)
		resp.Body.Close()
		b.Close()
		if err != nil {
			return
		}
	}
}

// TestNginxHelpfulRetryCountsOnce: a vote an instance counted but could
// not answer (its connection to NGINX closed) is retried by NGINX on
// another instance, and counts once: NGINX sends both attempts with one
// Idempotency-Key and the instance that gets the retry recognises it.
func TestNginxHelpfulRetryCountsOnce(t *testing.T) {
	url := testdb.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), apiFixture); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	bin := catwalkBinary(t)
	var ups []string
	var dropped atomic.Bool
	for range 3 {
		in := startInstance(t, bin, "DATABASE_URL="+url)
		ups = append(ups, startDropOnce(t, "127.0.0.1:"+strconv.Itoa(in.Port), &dropped).addr)
	}
	p := startNginx(t, ups)
	helpfulness := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(context.Background(), "SELECT helpfulness FROM reviews WHERE id = 9001").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for _, header := range [][]string{nil, {"Idempotency-Key", "client-vote-1"}} {
		dropped.Store(false)
		before := helpfulness()
		r := do(t, "PUT", p.URL("/reviews/9001/helpful"), "", header...)
		if r.Status != 204 {
			t.Fatalf("PUT helpful (key %v), the first attempt dropped after counting: %d %q, want 204 from the retry", header, r.Status, r.Body)
		}
		if !dropped.Load() {
			t.Fatal("no attempt was dropped: the test tested nothing")
		}
		if after := helpfulness(); after != before+1 {
			t.Errorf("one vote (key %v) retried by NGINX after the instance counted it: helpfulness %d → %d, want +1", header, before, after)
		}
	}
}
