package handlers

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

//go:embed testdata/bench_data.sql
var benchDataSQL string

// benchProducts is the number of products of bench_data.sql.
const benchProducts = 20000

// missParallelism runs the miss and SQL benchmarks with 8 goroutines per
// core (16 on the 2-core reference machine), as many as pool connections, so
// that they measure throughput at a fixed concurrency, not one query's
// latency.
const missParallelism = 8

var benchDB struct {
	once sync.Once
	pool *pgxpool.Pool
}

// mustBenchPool loads bench_data.sql into the package's database once per
// test binary (the contract tests use databases of their own).
func mustBenchPool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	benchDB.once.Do(func() {
		pool, err := pgxpool.New(context.Background(), testdb.URL(b)+"&pool_max_conns=16")
		if err != nil {
			b.Fatal(err)
		}
		mustExec(b, pool, benchDataSQL)
		mustExec(b, pool, refreshReadModelSQL)
		benchDB.pool = pool
	})
	if benchDB.pool == nil {
		b.Fatal("benchmark database failed to load")
	}
	return benchDB.pool
}

func mustBenchCache(b *testing.B) *cache.Cache {
	b.Helper()
	c, err := cache.New(256<<20, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// benchServe answers uri through h on a reused RequestCtx, as the server does
// for each request on a connection: the request is parsed afresh, the
// response reset.
func benchServe(b *testing.B, h fasthttp.RequestHandler, uris func(i int) []byte) {
	benchServeIfNoneMatch(b, h, uris, "", fasthttp.StatusOK)
}

// benchServeIfNoneMatch is benchServe with an If-None-Match header (none
// when empty) and the status every answer must have.
func benchServeIfNoneMatch(b *testing.B, h fasthttp.RequestHandler, uris func(i int) []byte, ifNoneMatch string, want int) {
	b.ReportAllocs()
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		if ifNoneMatch != "" {
			ctx.Request.Header.Set("If-None-Match", ifNoneMatch)
		}
		for pb.Next() {
			i := int(n.Add(1))
			ctx.Request.SetRequestURIBytes(uris(i))
			ctx.Response.Reset()
			h(&ctx)
			if ctx.Response.StatusCode() != want {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}

// fixedURIs returns one URI for every iteration.
func fixedURIs(uri string) func(int) []byte {
	u := []byte(uri)
	return func(int) []byte { return u }
}

// productURIs returns format filled with products 1…benchProducts in turn.
func productURIs(format string) func(int) []byte {
	uris := make([][]byte, benchProducts)
	for i := range uris {
		uris[i] = fmt.Appendf(nil, format, i+1)
	}
	return func(i int) []byte { return uris[i%benchProducts] }
}

// BenchmarkListHit: a list page served from the cache (target ≤ 1 alloc/op).
func BenchmarkListHit(b *testing.B) {
	h := New(queries.New(mustBenchPool(b)), mustBenchCache(b), Config{}, nil)
	r := h.Router()
	uris := fixedURIs("/reviews?product_id=4242&count=5&sort=relevant")
	serve(r, "GET", string(uris(0)))
	h.cache.Wait()
	benchServe(b, r, uris)
}

// conditionalCases are the requests of the conditional-GET benchmarks:
// a cached list page and a cached meta, each asked without a validator
// (status=200, the body) and with its ETag (status=304, no body).
var conditionalCases = []struct{ route, uri string }{
	{"list", "/reviews?product_id=4242&count=5&sort=relevant"},
	{"meta", "/reviews/meta?product_id=4242"},
}

// conditionalRounds: the conditional benchmarks run their 200 and 304
// cases alternately this many times, so that on a shared, noisy machine
// both answers are measured under the same load, side by side:
//
//	go test ./handlers -run '^$' -bench Conditional -benchtime 200ms -args -conditional.rounds 20 > out.txt
//	benchstat -col /status -ignore /round out.txt
var conditionalRounds = flag.Int("conditional.rounds", 1, "rounds of the conditional-GET benchmarks (200 and 304 alternately)")

// benchConditional runs each case of conditionalCases as 200 then 304, for
// conditionalRounds rounds; serve answers one request with If-None-Match
// (none when empty) and checks its status. Names are key=value, for
// benchstat's -col and -ignore.
func benchConditional(b *testing.B, serve func(b *testing.B, r fasthttp.RequestHandler, uri, ifNoneMatch string, status int)) {
	for round := 1; round <= *conditionalRounds; round++ {
		for _, c := range conditionalCases {
			for _, status := range []int{fasthttp.StatusOK, fasthttp.StatusNotModified} {
				b.Run(fmt.Sprintf("round=%d/route=%s/status=%d", round, c.route, status), func(b *testing.B) {
					h := New(queries.New(mustBenchPool(b)), mustBenchCache(b), Config{}, nil)
					r := h.Router()
					etag := string(serveOnce(r, c.uri).Header.Peek("Etag"))
					h.cache.Wait()
					if status == fasthttp.StatusOK {
						etag = ""
					}
					serve(b, r, c.uri, etag, status)
				})
			}
		}
	}
}

// serveOnce is read_test.go's serve for a GET (the benchmarks' own
// parameter is named serve).
func serveOnce(r fasthttp.RequestHandler, uri string) *fasthttp.Response { return serve(r, "GET", uri) }

// BenchmarkConditional: the cache-hit handler path answering 200 or 304
// (target: the 304 no slower than the 200).
func BenchmarkConditional(b *testing.B) {
	benchConditional(b, func(b *testing.B, r fasthttp.RequestHandler, uri, ifNoneMatch string, status int) {
		benchServeIfNoneMatch(b, r, fixedURIs(uri), ifNoneMatch, status)
	})
}

// BenchmarkMetaHit: meta served from the cache.
func BenchmarkMetaHit(b *testing.B) {
	h := New(queries.New(mustBenchPool(b)), mustBenchCache(b), Config{}, nil)
	r := h.Router()
	uris := fixedURIs("/reviews/meta?product_id=4242")
	serve(r, "GET", string(uris(0)))
	h.cache.Wait()
	benchServe(b, r, uris)
}

// BenchmarkListMiss: every request misses (products in turn, each
// invalidated first): one statement and the JSON encoding per request.
func BenchmarkListMiss(b *testing.B) {
	b.SetParallelism(missParallelism)
	h := New(&invalidatingStore{ReadStore: queries.New(mustBenchPool(b))}, mustBenchCache(b), Config{}, nil)
	h.store.(*invalidatingStore).cache = h.cache
	benchServe(b, h.Router(), productURIs("/reviews?product_id=%d"))
}

// BenchmarkMetaMiss: every meta request misses.
func BenchmarkMetaMiss(b *testing.B) {
	b.SetParallelism(missParallelism)
	h := New(&invalidatingStore{ReadStore: queries.New(mustBenchPool(b))}, mustBenchCache(b), Config{}, nil)
	h.store.(*invalidatingStore).cache = h.cache
	benchServe(b, h.Router(), productURIs("/reviews/meta?product_id=%d"))
}

// invalidatingStore forgets the product's cache entries after each
// statement, so that the next request for it misses again.
type invalidatingStore struct {
	ReadStore
	WriteStore
	cache *cache.Cache
}

func (s *invalidatingStore) Ready(context.Context) error { return nil }

func (s *invalidatingStore) ListReviews(ctx context.Context, product int32, sort queries.Sort, limit int32, offset int64, fn func(*queries.Review) error) error {
	defer s.cache.InvalidateProduct(uint32(product))
	return s.ReadStore.ListReviews(ctx, product, sort, limit, offset, fn)
}

func (s *invalidatingStore) ProductMeta(ctx context.Context, product int32) (queries.Meta, error) {
	defer s.cache.InvalidateProduct(uint32(product))
	return s.ReadStore.ProductMeta(ctx, product)
}

// BenchmarkListSQL is the floor of a miss: the list statement alone through
// the pool, rows read and dropped, no HTTP and no JSON.
func BenchmarkListSQL(b *testing.B) {
	b.SetParallelism(missParallelism)
	store := queries.New(mustBenchPool(b))
	b.ReportAllocs()
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := int32(n.Add(1)%benchProducts + 1)
			err := store.ListReviews(context.Background(), p, queries.SortRelevant, 5, 0, func(*queries.Review) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The Server benchmarks run the real fasthttp server on an in-memory
// listener with a fasthttp client: the whole HTTP path.

// BenchmarkServerFixedBody is the yardstick of the hit target: a minimal
// fasthttp handler sending a fixed body the size of the list hit's.
func BenchmarkServerFixedBody(b *testing.B) {
	h := New(queries.New(mustBenchPool(b)), mustBenchCache(b), Config{}, nil)
	body := serve(h.Router(), "GET", "/reviews?product_id=4242").Body()
	fixed := func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType(contentTypeJSON)
		ctx.SetBody(body)
	}
	benchClient(b, fixed, fixedURIs("/reviews?product_id=4242"))
}

func BenchmarkServerListHit(b *testing.B) {
	h := New(queries.New(mustBenchPool(b)), mustBenchCache(b), Config{}, nil)
	r := h.Router()
	serve(r, "GET", "/reviews?product_id=4242")
	h.cache.Wait()
	benchClient(b, r, fixedURIs("/reviews?product_id=4242"))
}

// BenchmarkServerConditional is BenchmarkConditional through the real
// server and client: the 304 saves writing and reading the body.
func BenchmarkServerConditional(b *testing.B) {
	benchConditional(b, func(b *testing.B, r fasthttp.RequestHandler, uri, ifNoneMatch string, status int) {
		benchClientIfNoneMatch(b, r, fixedURIs(uri), ifNoneMatch, status)
	})
}

func BenchmarkServerMetaHit(b *testing.B) {
	h := New(queries.New(mustBenchPool(b)), mustBenchCache(b), Config{}, nil)
	r := h.Router()
	serve(r, "GET", "/reviews/meta?product_id=4242")
	h.cache.Wait()
	benchClient(b, r, fixedURIs("/reviews/meta?product_id=4242"))
}

func BenchmarkServerListMiss(b *testing.B) {
	b.SetParallelism(missParallelism)
	h := New(&invalidatingStore{ReadStore: queries.New(mustBenchPool(b))}, mustBenchCache(b), Config{}, nil)
	h.store.(*invalidatingStore).cache = h.cache
	benchClient(b, h.Router(), productURIs("/reviews?product_id=%d"))
}

func BenchmarkServerMetaMiss(b *testing.B) {
	b.SetParallelism(missParallelism)
	h := New(&invalidatingStore{ReadStore: queries.New(mustBenchPool(b))}, mustBenchCache(b), Config{}, nil)
	h.store.(*invalidatingStore).cache = h.cache
	benchClient(b, h.Router(), productURIs("/reviews/meta?product_id=%d"))
}

// benchClient serves h on an in-memory listener and sends the URIs from
// parallel clients over kept-alive connections.
func benchClient(b *testing.B, h fasthttp.RequestHandler, uris func(int) []byte) {
	benchClientIfNoneMatch(b, h, uris, "", fasthttp.StatusOK)
}

// benchClientIfNoneMatch is benchClient with an If-None-Match header (none
// when empty) and the status every answer must have.
func benchClientIfNoneMatch(b *testing.B, h fasthttp.RequestHandler, uris func(int) []byte, ifNoneMatch string, want int) {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h, ErrorHandler: ServerError}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown() })
	client := &fasthttp.Client{
		Dial:                          func(string) (net.Conn, error) { return ln.Dial() },
		DisablePathNormalizing:        true,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		MaxConnsPerHost:               1024,
	}
	b.ReportAllocs()
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetHost("catwalk")
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		for pb.Next() {
			req.SetRequestURIBytes(uris(int(n.Add(1))))
			if err := client.Do(req, resp); err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode() != want {
				b.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
			}
		}
	})
}
