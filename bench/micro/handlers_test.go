package micro

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/handlers"
)

// Benchmark names carry their parameters as key=value (benchstat groups
// and compares by them): BenchmarkList/cache=off/count=5 is a list page of
// five reviews rendered on every request.

func newRouter(tb testing.TB, cached bool) fasthttp.RequestHandler {
	tb.Helper()
	var c *cache.Cache
	if cached {
		var err error
		if c, err = cache.New(64<<20, time.Hour); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(c.Close)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return handlers.New(Store{}, c, handlers.Config{}, log).Router()
}

// do serves one request on ctx, reused as the server reuses it per
// connection, and fails on any status other than want.
func do(tb testing.TB, h fasthttp.RequestHandler, ctx *fasthttp.RequestCtx, method string, uri []byte, body []byte, want int) {
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURIBytes(uri)
	if body != nil {
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyRaw(body)
	}
	ctx.Response.Reset()
	h(ctx)
	if ctx.Response.StatusCode() != want {
		tb.Fatalf("%s %s: status %d, want %d: %s", method, uri, ctx.Response.StatusCode(), want, ctx.Response.Body())
	}
}

// uris is format filled with products 1…n, in turn.
func uris(format string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, format, i+1)
	}
	return out
}

// missProducts is enough products that a run cycles through distinct keys:
// with the cache on, nearly every request misses and fills.
const missProducts = 1 << 16

func BenchmarkList(b *testing.B) {
	for _, c := range []struct {
		cache string
		count int
	}{{"hit", 5}, {"miss", 5}, {"off", 5}, {"off", 100}} {
		b.Run(fmt.Sprintf("cache=%s/count=%d", c.cache, c.count), func(b *testing.B) {
			h := newRouter(b, c.cache != "off")
			n := missProducts
			if c.cache == "hit" {
				n = 1
			}
			us := uris("/reviews?product_id=%d&count="+fmt.Sprint(c.count)+"&sort=relevant", n)
			var ctx fasthttp.RequestCtx
			do(b, h, &ctx, "GET", us[0], nil, 200)
			time.Sleep(10 * time.Millisecond) // ristretto admits the first fill asynchronously
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				do(b, h, &ctx, "GET", us[i%n], nil, 200)
				i++
			}
		})
	}
}

func BenchmarkMeta(b *testing.B) {
	for _, mode := range []string{"hit", "miss", "off"} {
		b.Run("cache="+mode, func(b *testing.B) {
			h := newRouter(b, mode != "off")
			n := missProducts
			if mode == "hit" {
				n = 1
			}
			us := uris("/reviews/meta?product_id=%d", n)
			var ctx fasthttp.RequestCtx
			do(b, h, &ctx, "GET", us[0], nil, 200)
			time.Sleep(10 * time.Millisecond)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				do(b, h, &ctx, "GET", us[i%n], nil, 200)
				i++
			}
		})
	}
}

// postBody is a valid POST /reviews body for product.
func postBody(product int32) []byte {
	return fmt.Appendf(nil, `{"product_id":%d,"rating":4,"summary":"Fits as expected","body":%q,"recommend":true,`+
		`"name":"shopper123","email":"shopper@example.com","photos":["https://images.example.com/p/1.jpg"],"characteristics":%s}`,
		product, string(body), CharacteristicsBody(product))
}

// BenchmarkPost: parse and validate the body, hash it for the key, answer
// 201 and evict the product from the cache.
func BenchmarkPost(b *testing.B) {
	for _, key := range []string{"none", "set"} {
		b.Run("key="+key, func(b *testing.B) {
			h := newRouter(b, true)
			bodies := make([][]byte, 64)
			for i := range bodies {
				bodies[i] = postBody(int32(i + 1))
			}
			uri := []byte("/reviews")
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if key == "set" {
					ctx.Request.Header.Set("Idempotency-Key", "bench-key")
				}
				do(b, h, &ctx, "POST", uri, bodies[i%len(bodies)], 201)
				ctx.Request.Header.Del("Idempotency-Key")
				i++
			}
		})
	}
}

func BenchmarkPut(b *testing.B) {
	for _, op := range []string{"helpful", "report"} {
		b.Run("op="+op, func(b *testing.B) {
			h := newRouter(b, true)
			us := uris("/reviews/%d/"+op, 1024)
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				do(b, h, &ctx, "PUT", us[i%len(us)], nil, 204)
				i++
			}
		})
	}
}

// BenchmarkRejected: requests refused by validation (422), which never
// reach the store.
func BenchmarkRejected(b *testing.B) {
	for _, c := range []struct{ name, method, uri, body string }{
		{"list-bad-sort", "GET", "/reviews?product_id=7&sort=cheapest", ""},
		{"post-bad-rating", "POST", "/reviews", strings.Replace(string(postBody(7)), `"rating":4`, `"rating":9`, 1)},
	} {
		b.Run("case="+c.name, func(b *testing.B) {
			h := newRouter(b, true)
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			for b.Loop() {
				do(b, h, &ctx, c.method, []byte(c.uri), body, 422)
			}
		})
	}
}

// The benchmarks above must measure real answers: the fake's pages and
// metas render as API.md's shapes, and a POST is accepted.
func TestFakeStoreAnswersSuccess(t *testing.T) {
	h := newRouter(t, false)
	var ctx fasthttp.RequestCtx
	do(t, h, &ctx, "GET", []byte("/reviews?product_id=12&count=100&sort=newest"), nil, 200)
	var list struct {
		Product string `json:"product"`
		Results []struct {
			ReviewID int     `json:"review_id"`
			Response *string `json:"response"`
			Photos   []any   `json:"photos"`
		} `json:"results"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &list); err != nil {
		t.Fatalf("list: %v: %s", err, ctx.Response.Body())
	}
	if list.Product != "12" || len(list.Results) != Reviews(12) || list.Results[0].Response == nil || len(list.Results[0].Photos) != 2 {
		t.Fatalf("list of product 12: %s", ctx.Response.Body())
	}
	do(t, h, &ctx, "GET", []byte("/reviews/meta?product_id=12"), nil, 200)
	var meta struct {
		Ratings         map[string]string `json:"ratings"`
		Characteristics map[string]struct {
			ID int `json:"id"`
		} `json:"characteristics"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &meta); err != nil || len(meta.Ratings) != 4 || meta.Characteristics["Fit"].ID != 48 {
		t.Fatalf("meta of product 12 (%v): %s", err, ctx.Response.Body())
	}
	do(t, h, &ctx, "POST", []byte("/reviews"), postBody(12), 201)
	if got := string(ctx.Response.Body()); got != `{"review_id":207}` {
		t.Fatalf("POST answered %s", got)
	}
}
