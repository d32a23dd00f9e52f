package handlers

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fasthttp/router"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var (
	//go:embed testdata/read_fixture.sql
	readFixtureSQL string
	//go:embed testdata/refresh_read_model.sql
	refreshReadModelSQL string
)

// mustReadDB returns a pool on a fresh database holding sqlText (source rows)
// with its read model recomputed.
func mustReadDB(tb testing.TB, sqlText string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.NewDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	mustExec(tb, pool, sqlText)
	mustExec(tb, pool, refreshReadModelSQL)
	return pool
}

func mustExec(tb testing.TB, pool *pgxpool.Pool, sqlText string) {
	tb.Helper()
	if _, err := pool.Exec(context.Background(), sqlText); err != nil {
		tb.Fatalf("exec: %v", err)
	}
}

// countingStore counts the statements the handlers run on a real store.
type countingStore struct {
	*queries.Store
	lists, metas atomic.Int32
}

func (s *countingStore) ListReviews(ctx context.Context, product int32, sort queries.Sort, limit int32, offset int64, fn func(*queries.Review) error) error {
	s.lists.Add(1)
	return s.Store.ListReviews(ctx, product, sort, limit, offset, fn)
}

func (s *countingStore) ProductMeta(ctx context.Context, product int32) (queries.Meta, error) {
	s.metas.Add(1)
	return s.Store.ProductMeta(ctx, product)
}

func mustCache(tb testing.TB) *cache.Cache {
	tb.Helper()
	c, err := cache.New(64<<20, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// serve runs one request through the router without a network.
func serve(h fasthttp.RequestHandler, method, uri string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	h(&ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}

// dump is what a golden file holds: the status line, the headers the
// contract speaks of and the body, byte for byte.
func dump(resp *fasthttp.Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", resp.StatusCode())
	fmt.Fprintf(&b, "Content-Type: %s\n", resp.Header.ContentType())
	for _, h := range []string{"Allow", "Location", "Retry-After"} {
		if v := resp.Header.Peek(h); len(v) > 0 {
			fmt.Fprintf(&b, "%s: %s\n", h, v)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", resp.Body())
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "read", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s: response differs from %s\n got: %s\nwant: %s", name, path, got, want)
	}
}

// TestReadContract replays every rule of API.md's GET /reviews and GET
// /reviews/meta against the fixture and compares with golden files; the
// same requests are answered again from the cache, byte for byte.
func TestReadContract(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	store := &countingStore{Store: queries.New(pool)}
	uncached := New(store, nil, Config{MaxPageSize: 3}, nil).Router()
	c := mustCache(t)
	cached := New(store, c, Config{MaxPageSize: 3}, nil).Router()

	f := func(name, method, uri string) {
		t.Helper()
		got := dump(serve(uncached, method, uri))
		checkGolden(t, name, got)
		for range 2 { // the miss fills the cache, the hit serves it
			if again := dump(serve(cached, method, uri)); again != got {
				t.Errorf("%s: cached answer differs\n got: %s\nwant: %s", name, again, got)
			}
			c.Wait() // ristretto applies sets asynchronously
		}
	}
	// Lists: defaults, the three orders and their tie-breaks, pagination.
	f("list_default", "GET", "/reviews?product_id=1")
	f("list_trailing_slash", "GET", "/reviews/?product_id=1")
	f("list_relevant", "GET", "/reviews?product_id=1&sort=relevant&count=3")
	f("list_newest", "GET", "/reviews?product_id=1&sort=newest&count=3")
	f("list_newest_page2", "GET", "/reviews?product_id=1&sort=newest&count=3&page=2")
	f("list_newest_page3", "GET", "/reviews?product_id=1&sort=newest&count=3&page=3")
	f("list_helpful", "GET", "/reviews?product_id=1&sort=helpful&count=3")
	f("list_helpful_page2", "GET", "/reviews?product_id=1&sort=helpful&count=3&page=2")
	f("list_count_one", "GET", "/reviews?product_id=1&sort=newest&count=1&page=4")
	f("list_huge_count", "GET", "/reviews?product_id=1&sort=newest&count=1000000")
	f("list_past_end", "GET", "/reviews?product_id=1&page=99")
	f("list_huge_offset", "GET", "/reviews?product_id=1&page=2147483647&count=2147483647")
	f("list_only_reported", "GET", "/reviews?product_id=2")
	f("list_unknown_product", "GET", "/reviews?product_id=2147483647")
	f("list_canonical_id", "GET", "/reviews?product_id=0003&page=01&count=05")
	f("list_first_occurrence", "GET", "/reviews?product_id=2&product_id=1&sort=helpful&sort=bogus&count=1&count=x")
	f("list_empty_values", "GET", "/reviews?product_id=1&page=&count=&sort=")
	f("list_percent_encoded", "GET", "/reviews?product%5Fid=%31&sort=%6eewest&count=1")
	// List failures.
	f("list_missing_product", "GET", "/reviews")
	f("list_empty_product", "GET", "/reviews?product_id=&page=1")
	f("list_bad_product", "GET", "/reviews?product_id=abc")
	f("list_zero_product", "GET", "/reviews?product_id=0")
	f("list_negative_product", "GET", "/reviews?product_id=-1")
	f("list_overflow_product", "GET", "/reviews?product_id=2147483648")
	f("list_bad_page", "GET", "/reviews?product_id=1&page=0")
	f("list_fraction_page", "GET", "/reviews?product_id=1&page=1.5")
	f("list_bad_count", "GET", "/reviews?product_id=1&count=-5")
	f("list_bad_sort", "GET", "/reviews?product_id=1&sort=oldest")
	f("list_sort_case", "GET", "/reviews?product_id=1&sort=Newest")
	f("list_broken_encoding", "GET", "/reviews?product_id=1&sort=%zz")
	f("list_truncated_encoding", "GET", "/reviews?product_id=1%2")
	f("list_wrong_method", "DELETE", "/reviews?product_id=1")
	// Meta.
	f("meta", "GET", "/reviews/meta?product_id=1")
	f("meta_only_reported", "GET", "/reviews/meta?product_id=2")
	f("meta_no_reviews", "GET", "/reviews/meta?product_id=3")
	f("meta_unknown_product", "GET", "/reviews/meta?product_id=404")
	f("meta_canonical_id", "GET", "/reviews/meta?product_id=001&product_id=2")
	f("meta_missing_product", "GET", "/reviews/meta")
	f("meta_bad_product", "GET", "/reviews/meta?product_id=1x")
	f("meta_broken_encoding", "GET", "/reviews/meta?product_id=%G1")
	f("meta_wrong_method", "POST", "/reviews/meta?product_id=1")
	f("meta_trailing_slash", "GET", "/reviews/meta/?product_id=1")
	f("unknown_route", "GET", "/review?product_id=1")
}

// TestReadResponseShape decodes list and meta answers and checks the types
// the contract names, independently of the golden bytes.
func TestReadResponseShape(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	h := New(queries.New(pool), nil, Config{}, nil).Router()

	resp := serve(h, "GET", "/reviews?product_id=1&sort=newest&count=10")
	var list struct {
		Product string `json:"product"`
		Page    *int   `json:"page"`
		Count   int    `json:"count"`
		Results []map[string]json.RawMessage
	}
	if err := json.Unmarshal(resp.Body(), &list); err != nil {
		t.Fatalf("list is not JSON: %v\n%s", err, resp.Body())
	}
	if list.Product != "1" || list.Page == nil || *list.Page != 0 || list.Count != 10 || len(list.Results) != 6 {
		t.Fatalf("list header = %q %v %d, %d results", list.Product, list.Page, list.Count, len(list.Results))
	}
	wantFields := []string{"review_id", "rating", "summary", "recommend", "response", "body", "date", "reviewer_name", "helpfulness", "photos"}
	for _, r := range list.Results {
		if len(r) != len(wantFields) {
			t.Errorf("review has fields %v, want exactly %v", keys(r), wantFields)
		}
		for _, k := range wantFields {
			if _, ok := r[k]; !ok {
				t.Errorf("review lacks %q", k)
			}
		}
		if p := string(r["photos"]); p == "null" || p[0] != '[' {
			t.Errorf("photos = %s, want an array", p)
		}
		var date string
		if err := json.Unmarshal(r["date"], &date); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", date); err != nil || len(date) != 24 {
			t.Errorf("date %q is not API.md's format", date)
		}
	}
	if bytes.Contains(resp.Body(), []byte("reported")) || bytes.Contains(resp.Body(), []byte("@")) {
		t.Errorf("list leaks reported or reviewer_email: %s", resp.Body())
	}
	if bytes.Contains(resp.Body(), []byte(`\u003c`)) || !bytes.Contains(resp.Body(), []byte(`<b>bold</b>`)) {
		t.Errorf("strings must not be HTML-escaped: %s", resp.Body())
	}
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestReadCache: a hit runs no statement; invalidating the product makes the
// next request query again; another product's entries survive.
func TestReadCache(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	store := &countingStore{Store: queries.New(pool)}
	c := mustCache(t)
	h := New(store, c, Config{}, nil).Router()

	get := func(uri string) string {
		t.Helper()
		resp := serve(h, "GET", uri)
		if resp.StatusCode() != 200 {
			t.Fatalf("%s: %d %s", uri, resp.StatusCode(), resp.Body())
		}
		c.Wait()
		return string(resp.Body())
	}
	list1 := get("/reviews?product_id=1")
	meta1 := get("/reviews/meta?product_id=1")
	get("/reviews?product_id=2")
	if got := get("/reviews?product_id=1"); got != list1 {
		t.Fatalf("hit served %s, want %s", got, list1)
	}
	get("/reviews/meta?product_id=1")
	get("/reviews?product_id=2")
	if l, m := store.lists.Load(), store.metas.Load(); l != 2 || m != 1 {
		t.Fatalf("ran %d list and %d meta statements, want 2 and 1 (hits must not query)", l, m)
	}

	// A write reports review 1 and invalidates product 1.
	mustExec(t, pool, "UPDATE reviews SET reported = true WHERE id = 1")
	mustExec(t, pool, refreshReadModelSQL)
	c.InvalidateProduct(1)
	if got := get("/reviews?product_id=1"); got == list1 || strings.Contains(got, `"review_id":1,`) {
		t.Fatalf("after invalidation the list still shows review 1: %s", got)
	}
	if got := get("/reviews/meta?product_id=1"); got == meta1 {
		t.Fatalf("after invalidation meta is unchanged: %s", got)
	}
	get("/reviews?product_id=2")
	if l, m := store.lists.Load(), store.metas.Load(); l != 3 || m != 2 {
		t.Fatalf("ran %d list and %d meta statements, want 3 and 2", l, m)
	}
	if s := c.Stats(); s.Hits != 4 || s.Misses != 5 {
		t.Fatalf("stats %+v, want 4 hits and 5 misses", s)
	}
}

// TestReadConcurrentMissesQueryOnce: many simultaneous misses of one key run
// one statement. The requests run in a synctest bubble, so synctest.Wait
// returns exactly when every one of them is blocked: the first in the
// store, held by the gate, the others on its flight (one that had not
// joined it would still be running). The gated store answers with the
// aggregates PostgreSQL gave before the bubble: a network round trip
// inside it would run against its fake clock.
func TestReadConcurrentMissesQueryOnce(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	meta, err := queries.New(pool).ProductMeta(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := string(serve(New(queries.New(pool), nil, Config{}, nil).Router(), "GET", "/reviews/meta?product_id=1").Body())
	store := &gatedStore{meta: meta}
	h := New(store, mustCache(t), Config{}, nil).Router()
	synctest.Test(t, func(t *testing.T) {
		store.gate = make(chan struct{})
		done := make(chan string, 20)
		for range 20 {
			go func() { done <- string(serve(h, "GET", "/reviews/meta?product_id=1").Body()) }()
		}
		synctest.Wait()
		close(store.gate)
		for range 20 {
			if got := <-done; got != want {
				t.Fatalf("answer %s, want %s", got, want)
			}
		}
	})
	if n := store.metas.Load(); n != 1 {
		t.Fatalf("20 concurrent misses ran %d statements, want 1", n)
	}
}

// gatedStore answers ProductMeta with meta once gate is closed.
type gatedStore struct {
	countingStore
	meta queries.Meta
	gate chan struct{}
}

func (s *gatedStore) ProductMeta(ctx context.Context, product int32) (queries.Meta, error) {
	s.metas.Add(1)
	<-s.gate
	return s.meta, nil
}

// TestReadServer runs the real fasthttp server: requests fasthttp parses
// itself (broken encodings, a slash-terminated path) get the same answers.
func TestReadServer(t *testing.T) {
	pool := mustReadDB(t, readFixtureSQL)
	client := mustServe(t, New(queries.New(pool), mustCache(t), Config{}, nil))
	f := func(uri string, status int, bodyPrefix string) {
		t.Helper()
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://catwalk" + uri)
		req.URI().DisablePathNormalizing = true
		if err := client.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != status || !bytes.HasPrefix(resp.Body(), []byte(bodyPrefix)) {
			t.Errorf("GET %s = %d %s; want %d %s…", uri, resp.StatusCode(), resp.Body(), status, bodyPrefix)
		}
		if ct := string(resp.Header.ContentType()); ct != "application/json; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", uri, ct)
		}
	}
	f("/reviews?product_id=1&count=1", 200, `{"product":"1","page":0,"count":1,"results":[{"review_id":`)
	f("/reviews/?product_id=1&count=1", 200, `{"product":"1","page":0,"count":1,"results":[{"review_id":`)
	f("/reviews/meta?product_id=3", 200, `{"product_id":"3","ratings":{},"recommended":{},"characteristics":{"Size":{"id":26,"value":null}}}`)
	f("/reviews?product_id=%", 400, `{"error":`)
	f("/reviews?product_id=1&x=%e2%28%a1%zz", 400, `{"error":`)
	f("/reviews/meta?product_id=%4", 400, `{"error":`)
	f("/reviews?product_id=one", 422, `{"error":"product_id must be an integer from 1 to 2147483647","field":"product_id"}`)
	f("/nope", 404, `{"error":"no such route"}`)
}

// mustServe starts h's router on an in-memory listener and returns a client
// dialling it.
func mustServe(tb testing.TB, h *Handler) *fasthttp.Client {
	tb.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h.Router(), ErrorHandler: ServerError}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Shutdown() })
	return &fasthttp.Client{
		Dial:                          func(string) (net.Conn, error) { return ln.Dial() },
		DisablePathNormalizing:        true,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		MaxConnsPerHost:               1024,
	}
}

// TestReadRoutesSaveMatchedPath: the read routes' fast path records the
// matched route like the router does for every other route.
func TestReadRoutesSaveMatchedPath(t *testing.T) {
	h := New(queries.New(testdb.Pool(t)), nil, Config{}, nil).Router()
	f := func(method, uri, want string) {
		t.Helper()
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		h(&ctx)
		if got, _ := ctx.UserValue(router.MatchedRoutePathParam).(string); got != want {
			t.Errorf("%s %s: matched route %q, want %q", method, uri, got, want)
		}
	}
	f("GET", "/reviews?product_id=1", "/reviews")
	f("GET", "/reviews/?product_id=1", "/reviews")
	f("GET", "/reviews/meta?product_id=1", "/reviews/meta")
	f("GET", "/healthz", "/healthz")
	f("PUT", "/reviews/1/helpful", "/reviews/{review_id}/helpful")
}

// TestReadDatabaseDown: with PostgreSQL unreachable both routes answer 503
// with Retry-After and a body that names no internals.
func TestReadDatabaseDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@"+addr+"/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	h := New(queries.New(pool), mustCache(t), Config{}, nil).Router()
	for _, uri := range []string{"/reviews?product_id=1", "/reviews/meta?product_id=1"} {
		resp := serve(h, "GET", uri)
		if resp.StatusCode() != fasthttp.StatusServiceUnavailable || string(resp.Header.Peek("Retry-After")) == "" {
			t.Errorf("GET %s = %d (Retry-After %q), want 503 with Retry-After", uri, resp.StatusCode(), resp.Header.Peek("Retry-After"))
		}
		if got := string(resp.Body()); got != `{"error":"database unavailable, retry shortly"}` {
			t.Errorf("GET %s body %s", uri, got)
		}
	}
}
