package handlers

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/catwalk/reviews/queries"
)

const shop = "https://shop.example"

// TestCORSOff: without CORS_ORIGINS nothing changes: no Access-Control-*
// or Vary header on any answer, and OPTIONS (a preflight too) is the 204
// with Allow it always was, which a browser takes as a refusal.
func TestCORSOff(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	h := New(queries.New(pool), mustCache(t), Config{}, nil).Router()
	for _, resp := range []*fasthttp.Response{
		serveWith(h, "GET", "/reviews/meta?product_id=1", "Origin", shop),
		serveWith(h, "OPTIONS", "/reviews", "Origin", shop, "Access-Control-Request-Method", "POST"),
		serveWith(h, "DELETE", "/reviews", "Origin", shop),
	} {
		if s := resp.Header.String(); strings.Contains(s, "Access-Control") || strings.Contains(s, "Vary") {
			t.Errorf("CORS headers without CORS_ORIGINS:\n%s", s)
		}
	}
	if resp := serveWith(h, "OPTIONS", "/reviews", "Origin", shop, "Access-Control-Request-Method", "POST"); resp.StatusCode() != 204 || string(resp.Header.Peek("Allow")) != "GET, OPTIONS, POST" {
		t.Errorf("OPTIONS without CORS: %d Allow %q", resp.StatusCode(), resp.Header.Peek("Allow"))
	}
}

// TestCORSOrigins: with a list, an allowed origin is echoed on every
// answer (successes, 304s, errors) with the headers a script may read; a
// preflight on a route gets the route's methods, Content-Type and
// Idempotency-Key, and a max age; another origin gets nothing a browser
// would accept; every answer varies by Origin.
func TestCORSOrigins(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	h := New(queries.New(pool), mustCache(t), Config{CORSOrigins: []string{"http://localhost:5173", shop}}, nil).Router()
	check := func(name string, resp *fasthttp.Response, status int, want map[string]string) {
		t.Helper()
		if resp.StatusCode() != status {
			t.Errorf("%s: status %d, want %d: %s", name, resp.StatusCode(), status, resp.Body())
		}
		for k, v := range want {
			if got := string(resp.Header.Peek(k)); got != v {
				t.Errorf("%s: %s %q, want %q", name, k, got, v)
			}
		}
	}
	simple := map[string]string{
		"Access-Control-Allow-Origin":   shop,
		"Access-Control-Expose-Headers": "Allow, ETag, Retry-After",
		"Vary":                          "Origin",
		"Access-Control-Allow-Methods":  "",
		"Access-Control-Max-Age":        "",
	}
	get := serveWith(h, "GET", "/reviews?product_id=1", "Origin", shop)
	check("GET", get, 200, simple)
	check("GET 304", serveWith(h, "GET", "/reviews?product_id=1", "Origin", shop, "If-None-Match", string(get.Header.Peek("Etag"))), 304, simple)
	check("GET 422", serveWith(h, "GET", "/reviews?product_id=0", "Origin", shop), 422, simple)
	check("POST 415", serveWith(h, "POST", "/reviews", "Origin", shop), 415, simple)
	check("DELETE 405", serveWith(h, "DELETE", "/reviews/meta", "Origin", shop), 405, map[string]string{"Allow": "GET, OPTIONS", "Access-Control-Allow-Origin": shop})
	check("GET other origin", serveWith(h, "GET", "/reviews?product_id=1", "Origin", "https://evil.example"), 200,
		map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": "Origin"})
	check("GET origin with a path", serveWith(h, "GET", "/reviews?product_id=1", "Origin", shop+"/"), 200, map[string]string{"Access-Control-Allow-Origin": ""})
	check("GET no origin", serveWith(h, "GET", "/reviews?product_id=1"), 200, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"})
	check("GET second origin", serveWith(h, "GET", "/reviews/meta?product_id=1", "Origin", "http://localhost:5173"), 200,
		map[string]string{"Access-Control-Allow-Origin": "http://localhost:5173"})

	preflight := func(path, method string) *fasthttp.Response {
		return serveWith(h, "OPTIONS", path, "Origin", shop, "Access-Control-Request-Method", method,
			"Access-Control-Request-Headers", "content-type,idempotency-key")
	}
	pre := map[string]string{
		"Access-Control-Allow-Origin":   shop,
		"Access-Control-Allow-Methods":  "GET, OPTIONS, POST",
		"Access-Control-Allow-Headers":  "Content-Type, Idempotency-Key",
		"Access-Control-Max-Age":        "7200",
		"Access-Control-Expose-Headers": "",
		"Allow":                         "GET, OPTIONS, POST",
		"Vary":                          "Origin",
	}
	check("preflight POST /reviews", preflight("/reviews", "POST"), 204, pre)
	pre["Access-Control-Allow-Methods"], pre["Allow"] = "OPTIONS, PUT", "OPTIONS, PUT"
	check("preflight PUT helpful", preflight("/reviews/12/helpful", "PUT"), 204, pre)
	check("preflight off the routes", preflight("/nope", "GET"), 404, map[string]string{"Access-Control-Allow-Methods": "", "Access-Control-Max-Age": ""})
	check("preflight other origin", serveWith(h, "OPTIONS", "/reviews", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST"), 204,
		map[string]string{"Allow": "GET, OPTIONS, POST", "Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Vary": "Origin"})
	check("plain OPTIONS", serveWith(h, "OPTIONS", "/reviews", "Origin", shop), 204,
		map[string]string{"Allow": "GET, OPTIONS, POST", "Access-Control-Allow-Origin": shop, "Access-Control-Allow-Methods": ""})
	if resp := preflight("/reviews", "POST"); len(resp.Body()) != 0 {
		t.Errorf("preflight with a body %q", resp.Body())
	}
}

// TestCORSAnyOrigin: "*" answers every origin with "*" and needs no Vary.
func TestCORSAnyOrigin(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	h := New(queries.New(pool), mustCache(t), Config{CORSOrigins: []string{"*"}}, nil).Router()
	resp := serveWith(h, "GET", "/reviews/meta?product_id=1", "Origin", "https://anyone.example")
	if got := string(resp.Header.Peek("Access-Control-Allow-Origin")); got != "*" || len(resp.Header.Peek("Vary")) != 0 {
		t.Errorf("GET: Access-Control-Allow-Origin %q Vary %q, want * and none", got, resp.Header.Peek("Vary"))
	}
	resp = serveWith(h, "OPTIONS", "/reviews/meta", "Origin", "https://anyone.example", "Access-Control-Request-Method", "GET")
	if resp.StatusCode() != 204 || string(resp.Header.Peek("Access-Control-Allow-Origin")) != "*" || string(resp.Header.Peek("Access-Control-Allow-Methods")) != "GET, OPTIONS" {
		t.Errorf("preflight: %d\n%s", resp.StatusCode(), resp.Header.String())
	}
}

// TestCORSServerError: an answer fasthttp makes before any handler (a
// body over the limit) carries the CORS headers too, so the page can read
// its 413.
func TestCORSServerError(t *testing.T) {
	h := New(nil, nil, Config{CORSOrigins: []string{shop}}, nil)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h.Router(), ErrorHandler: h.ServerError, MaxRequestBodySize: 16}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://catwalk/reviews")
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.Header.Set("Origin", shop)
	req.SetBodyString(strings.Repeat("x", 100))
	if err := client.DoTimeout(req, resp, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 413 || string(resp.Header.Peek("Access-Control-Allow-Origin")) != shop {
		t.Errorf("413: %d Access-Control-Allow-Origin %q", resp.StatusCode(), resp.Header.Peek("Access-Control-Allow-Origin"))
	}
}

func TestParseOriginsSuccess(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		got, err := ParseOrigins(in)
		if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("ParseOrigins(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	f("")
	f(" , ")
	f("*", "*")
	f("https://shop.example", "https://shop.example")
	f(" https://shop.example, http://localhost:5173 ,http://[::1]:8080", "https://shop.example", "http://localhost:5173", "http://[::1]:8080")
}

func TestParseOriginsFailure(t *testing.T) {
	f := func(in, wantErr string) {
		t.Helper()
		if _, err := ParseOrigins(in); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseOrigins(%q) = %v, want an error containing %q", in, err, wantErr)
		}
	}
	f("https://shop.example/", "no path")
	f("https://shop.example/app", "no path")
	f("shop.example", "scheme://host")
	f("ftp://shop.example", "http or https")
	f("https://", "scheme://host")
	f("https://shop.example?", "no path")
	f("https://u@shop.example", "scheme://host")
	f("null", "scheme://host")
	f("https://Shop.example", "lowercase")
	f("https://shop.example:443", "default port")
	f("http://shop.example:80", "default port")
	f("*, https://shop.example", `"*" allows every origin`)
}

func TestCacheControl(t *testing.T) {
	f := func(d time.Duration, want string) {
		t.Helper()
		got, err := CacheControl(d)
		if want == "error" {
			if err == nil {
				t.Errorf("CacheControl(%v) = %q, want an error", d, got)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("CacheControl(%v) = %q, %v; want %q", d, got, err, want)
		}
	}
	f(0, "no-cache")
	f(time.Second, "public, max-age=1")
	f(5*time.Minute, "public, max-age=300")
	f(1500*time.Millisecond, "error")
	f(-time.Second, "error")
}
