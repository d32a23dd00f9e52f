package handlers

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/queries"
)

// serveWith is serve with request headers (name, value pairs).
func serveWith(h fasthttp.RequestHandler, method, uri string, headers ...string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	h(&ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}

var etagShape = regexp.MustCompile(`^"[A-Za-z0-9_-]{22}"$`)

// TestConditionalGet: both GETs carry a strong ETag of their body and the
// configured Cache-Control; If-None-Match naming it (alone, in a list, weak,
// or "*") answers 304 with no body and the same headers, from the cache
// (no statement); anything else gets the 200; a write changes the tag; an
// error is never a 304.
func TestConditionalGet(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	store := &countingStore{Store: queries.New(pool)}
	c := mustCache(t)
	h := New(store, c, Config{CacheControl: "public, max-age=1"}, nil).Router()

	for _, uri := range []string{"/reviews?product_id=1&sort=newest", "/reviews/meta?product_id=1"} {
		t.Run(uri, func(t *testing.T) {
			first := serve(h, "GET", uri)
			c.Wait()
			etag := string(first.Header.Peek("ETag"))
			if first.StatusCode() != 200 || !etagShape.MatchString(etag) {
				t.Fatalf("GET %s = %d ETag %q, want 200 and a strong tag", uri, first.StatusCode(), etag)
			}
			if want := cache.Tag(first.Body()); etag != string(want[:]) {
				t.Fatalf("ETag %s is not the body's tag %s", etag, want[:])
			}
			if got := string(first.Header.Peek("Cache-Control")); got != "public, max-age=1" {
				t.Errorf("Cache-Control %q", got)
			}
			statements := store.lists.Load() + store.metas.Load()

			f := func(ifNoneMatch string, want int) {
				t.Helper()
				resp := serveWith(h, "GET", uri, "If-None-Match", ifNoneMatch)
				if resp.StatusCode() != want {
					t.Fatalf("If-None-Match %s: %d, want %d", ifNoneMatch, resp.StatusCode(), want)
				}
				if got := string(resp.Header.Peek("ETag")); got != etag {
					t.Errorf("If-None-Match %s: ETag %q, want %q", ifNoneMatch, got, etag)
				}
				if got := string(resp.Header.Peek("Cache-Control")); got != "public, max-age=1" {
					t.Errorf("If-None-Match %s: Cache-Control %q", ifNoneMatch, got)
				}
				switch want {
				case 304:
					if len(resp.Body()) != 0 {
						t.Errorf("304 with a body: %q", resp.Body())
					}
				case 200:
					if !bytes.Equal(resp.Body(), first.Body()) {
						t.Errorf("If-None-Match %s: body %s, want %s", ifNoneMatch, resp.Body(), first.Body())
					}
				}
			}
			f(etag, 304)
			f("W/"+etag, 304)
			f(`"nope", `+etag, 304)
			f(`W/"nope" ,W/`+etag+` , "x"`, 304)
			f("*", 304)
			f(`"nope"`, 200)
			f(strings.Trim(etag, `"`), 200) // unquoted: malformed
			f(etag[:len(etag)-1], 200)      // unterminated
			f(`"`+etag[2:], 200)            // another tag
			f("w/"+etag, 200)               // W/ is case-sensitive
			f(`"a"x`+etag, 200)             // garbage after a tag stops the list
			if n := store.lists.Load() + store.metas.Load(); n != statements {
				t.Errorf("conditional hits ran %d statements", n-statements)
			}
		})
	}

	// A write changes the body, hence the tag: the old one gets the new 200.
	old := string(serve(h, "GET", "/reviews/meta?product_id=1").Header.Peek("ETag"))
	mustExec(t, pool, "UPDATE reviews SET reported = true WHERE id = 1")
	mustExec(t, pool, refreshReadModelSQL)
	c.InvalidateProduct(1)
	resp := serveWith(h, "GET", "/reviews/meta?product_id=1", "If-None-Match", old)
	if resp.StatusCode() != 200 || string(resp.Header.Peek("ETag")) == old || len(resp.Body()) == 0 {
		t.Fatalf("after a write: %d ETag %s (old %s)", resp.StatusCode(), resp.Header.Peek("ETag"), old)
	}

	// Errors carry neither header and are never 304.
	resp = serveWith(h, "GET", "/reviews?product_id=x", "If-None-Match", "*")
	if resp.StatusCode() != 422 || len(resp.Header.Peek("ETag")) != 0 || len(resp.Header.Peek("Cache-Control")) != 0 {
		t.Errorf("422: %d ETag %q Cache-Control %q", resp.StatusCode(), resp.Header.Peek("ETag"), resp.Header.Peek("Cache-Control"))
	}
}

// TestConditionalGetWithoutCache: with no cache (or a bypassed one) the
// tag is computed per request and is the same as a cached body's, so an
// instance whose cache is off still answers 304; Cache-Control defaults to
// no-cache.
func TestConditionalGetWithoutCache(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	cached := New(queries.New(pool), mustCache(t), Config{}, nil).Router()
	bare := New(queries.New(pool), nil, Config{}, nil).Router()
	a, b := serve(cached, "GET", "/reviews?product_id=1"), serve(bare, "GET", "/reviews?product_id=1")
	etag := string(a.Header.Peek("ETag"))
	if etag == "" || string(b.Header.Peek("ETag")) != etag {
		t.Fatalf("ETag with cache %q, without %q", etag, b.Header.Peek("ETag"))
	}
	if got := string(b.Header.Peek("Cache-Control")); got != "no-cache" {
		t.Errorf("default Cache-Control %q, want no-cache", got)
	}
	if resp := serveWith(bare, "GET", "/reviews?product_id=1", "If-None-Match", etag); resp.StatusCode() != 304 || len(resp.Body()) != 0 {
		t.Errorf("without a cache: %d %q, want 304 and no body", resp.StatusCode(), resp.Body())
	}
}

// TestNotModifiedOnTheWire: through the real fasthttp server a 304 is a
// status line and headers, then the next response: zero body bytes, no
// Content-Type. The two requests are pipelined and the second closes the
// connection, so the test reads to EOF instead of waiting for silence.
func TestNotModifiedOnTheWire(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	h := New(queries.New(pool), mustCache(t), Config{CacheControl: "public, max-age=1"}, nil)
	etag := string(serve(h.Router(), "GET", "/reviews/meta?product_id=1").Header.Peek("ETag"))
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h.Router(), ErrorHandler: h.ServerError}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	conn, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hang fails, it is not a measure
	_, err = io.WriteString(conn, "GET /reviews/meta?product_id=1 HTTP/1.1\r\nHost: catwalk\r\nIf-None-Match: "+etag+"\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: catwalk\r\nConnection: close\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 304 Not Modified\r\n")) {
		t.Fatalf("first response:\n%s", raw)
	}
	if !bytes.HasPrefix(rest, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("bytes after the 304's headers are not the next response:\n%q", rest)
	}
	r, _ := http1Headers(head)
	if r["etag"] != etag || r["cache-control"] != "public, max-age=1" || r["content-type"] != "" {
		t.Errorf("304 headers %v", r)
	}
}

// http1Headers splits a response head into lowercase names and values.
func http1Headers(head []byte) (map[string]string, string) {
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Scan()
	status := sc.Text()
	m := map[string]string{}
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		m[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	return m, status
}

func TestETagListMatches(t *testing.T) {
	tag := []byte(`"abc"`)
	f := func(list string, want bool) {
		t.Helper()
		if got := etagListMatches([]byte(list), tag); got != want {
			t.Errorf("etagListMatches(%q) = %v, want %v", list, got, want)
		}
	}
	f(`"abc"`, true)
	f(`W/"abc"`, true)
	f(` "x",W/"y" , "abc" `, true)
	f("\t*", true)
	f(`"x", "abcd"`, false)
	f(`"ab"`, false)
	f(`abc`, false)
	f(`"abc`, false)
	f(`W/abc`, false)
	f(`W/`, false)
	f(`, ,`, false)
	f(``, false)
}

// TestCacheHitAllocations: the cache-hit path allocates nothing, 200 or
// 304, with CORS on.
func TestCacheHitAllocations(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	c := mustCache(t)
	h := New(queries.New(pool), c, Config{CORSOrigins: []string{"https://shop.example"}, CacheControl: "public, max-age=1"}, nil).Router()
	etag := string(serve(h, "GET", "/reviews?product_id=1").Header.Peek("ETag"))
	c.Wait()
	for _, inm := range []string{"", etag} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/reviews?product_id=1")
		ctx.Request.Header.Set("Origin", "https://shop.example")
		if inm != "" {
			ctx.Request.Header.Set("If-None-Match", inm)
		}
		run := func() { ctx.Response.Reset(); h(&ctx) }
		run()
		if want := map[bool]int{true: 200, false: 304}[inm == ""]; ctx.Response.StatusCode() != want {
			t.Fatalf("If-None-Match %q: %d, want %d", inm, ctx.Response.StatusCode(), want)
		}
		if n := testing.AllocsPerRun(100, run); n != 0 {
			t.Errorf("If-None-Match %q: %v allocations per hit, want 0", inm, n)
		}
	}
}
