package httpmetrics

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

func newHandler(m *Metrics) fasthttp.RequestHandler {
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.PUT("/reviews/{review_id}/helpful", func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(204) })
	r.GET("/slow", func(ctx *fasthttp.RequestCtx) { time.Sleep(30 * time.Millisecond) })
	r.GET("/boom", func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(500) })
	return m.Wrap(r.Handler)
}

func serve(h fasthttp.RequestHandler, method, uri string) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	h(&ctx)
}

func TestWrap(t *testing.T) {
	var logs bytes.Buffer
	m := New(slog.New(slog.NewJSONHandler(&logs, nil)), 20*time.Millisecond)
	h := newHandler(m)
	serve(h, "PUT", "/reviews/1/helpful")
	serve(h, "PUT", "/reviews/2/helpful")
	serve(h, "BREW", "/reviews/2/helpful")
	serve(h, "GET", "/nope")
	serve(h, "GET", "/slow")
	serve(h, "GET", "/boom")
	m.RegisterWriter(func(w io.Writer) { WriteCounter(w, "catwalk_listener_reconnects_total", 1) })

	var out bytes.Buffer
	m.WritePrometheus(&out)
	f := func(line string) {
		t.Helper()
		if !strings.Contains(out.String(), "\n"+line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	// Ids never become labels: both PUTs count under the route pattern.
	f(`catwalk_http_requests_total{route="/reviews/{review_id}/helpful",method="PUT",status="204"} 2`)
	// A made-up method cannot add series of its own.
	f(`catwalk_http_requests_total{route="unmatched",method="other",status="405"} 1`)
	f(`catwalk_http_requests_total{route="unmatched",method="GET",status="404"} 1`)
	f(`catwalk_http_requests_total{route="/boom",method="GET",status="500"} 1`)
	f(`catwalk_http_request_duration_seconds_count{route="/reviews/{review_id}/helpful",method="PUT"} 2`)
	f(`catwalk_http_request_duration_seconds_bucket{route="/slow",method="GET",le="0.01"} 0`)
	f(`catwalk_http_request_duration_seconds_bucket{route="/slow",method="GET",le="+Inf"} 1`)
	f("catwalk_listener_reconnects_total 1")

	// Logs: the slow request and the 5xx, nothing else.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"msg":"slow request"`) || !strings.Contains(lines[0], `"route":"/slow"`) ||
		!strings.Contains(lines[1], `"msg":"server error"`) || !strings.Contains(lines[1], `"status":500`) {
		t.Errorf("logs:\n%s\nwant one slow request line for /slow and one server error line", logs.String())
	}
}

func TestMethodLabel(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := methodLabel([]byte(in)); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
	f("GET", "GET")
	f("PUT", "PUT")
	f("POST", "POST")
	f("get", "other")
	f("", "other")
	f("X-ANYTHING", "other")
}
