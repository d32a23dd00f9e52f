package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

func TestBodySuccess(t *testing.T) {
	f := func(size int) {
		t.Helper()
		b := Body(size)
		if len(b) != size {
			t.Fatalf("Body(%d) has %d bytes", size, len(b))
		}
		if !json.Valid(b) {
			t.Fatalf("Body(%d) is not JSON: %q", size, b)
		}
	}
	f(2)
	f(9)
	f(10)
	f(11)
	f(656)
	f(100_000)
}

func TestServeSuccess(t *testing.T) {
	ln := fasthttputil.NewInmemoryListener()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-size", "656"}, io.Discard, io.Discard, ln) }()

	c := &fasthttp.HostClient{Addr: "baseline", Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	for _, path := range []string{"/", "/reviews?product_id=1"} {
		status, body, err := c.Get(nil, "http://baseline"+path)
		if err != nil {
			t.Fatal(err)
		}
		if status != 200 || len(body) != 656 {
			t.Fatalf("GET %s: status %d, %d bytes; want 200 and 656", path, status, len(body))
		}
	}
	// PUT is answered as the API answers a vote: 204, no body.
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.Header.SetMethod(fasthttp.MethodPut)
	req.SetRequestURI("http://baseline/reviews/7/helpful")
	if err := c.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 204 || len(resp.Body()) != 0 {
		t.Fatalf("PUT: status %d, %d bytes; want 204 and none", resp.StatusCode(), len(resp.Body()))
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

func TestServeFailure(t *testing.T) {
	f := func(args ...string) {
		t.Helper()
		if code := run(t.Context(), args, io.Discard, io.Discard, fasthttputil.NewInmemoryListener()); code != 2 {
			t.Fatalf("run(%q) = %d, want 2", args, code)
		}
	}
	f("-size", "1")
	f("-size", "x")
	f("-nope")
}
