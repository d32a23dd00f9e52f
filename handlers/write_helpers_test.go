package handlers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/invalidate"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

const testMaxBody = 64 << 10

// testServer is the real router on an in-memory listener.
type testServer struct {
	client *fasthttp.Client
	dial   func() (net.Conn, error)
	cache  *cache.Cache
	pool   *pgxpool.Pool
	// coherence is the instance's, when it has one (mustInstance).
	coherence *invalidate.Coherence
}

// mustServer serves a Handler on the package's database with its own cache.
func mustServer(tb testing.TB, pool *pgxpool.Pool) *testServer {
	tb.Helper()
	c := mustCache(tb)
	h := New(queries.New(pool), c, Config{}, nil)
	return serveHandler(tb, h, c, pool)
}

func serveHandler(tb testing.TB, h *Handler, c *cache.Cache, pool *pgxpool.Pool) *testServer {
	tb.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{
		Handler:            h.Router(),
		ErrorHandler:       ServerError,
		MaxRequestBodySize: testMaxBody,
		Logger:             quiet{},
	}
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	tb.Cleanup(func() { srv.Shutdown(); ln.Close() })
	client := &fasthttp.Client{
		Dial:            func(string) (net.Conn, error) { return ln.Dial() },
		MaxConnsPerHost: 256,
	}
	return &testServer{client: client, dial: ln.Dial, cache: c, pool: pool}
}

// quiet drops fasthttp's own log lines (e.g. for the 413 it answers).
type quiet struct{}

func (quiet) Printf(string, ...any) {}

type response struct {
	status      int
	body        string
	contentType string
	retryAfter  string
}

// do sends a request; headers come in name, value pairs.
func (s *testServer) do(tb testing.TB, method, path, contentType, body string, headers ...string) response {
	tb.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://catwalk" + path)
	req.Header.SetMethod(method)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.SetBodyString(body)
	if err := s.client.DoTimeout(req, resp, 30*time.Second); err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	var r response
	r.status = resp.StatusCode()
	r.body = string(resp.Body())
	r.contentType = string(resp.Header.ContentType())
	r.retryAfter = string(resp.Header.Peek("Retry-After"))
	return r
}

// raw writes a request by hand and reads the answer, for requests the
// server answers before reading them whole (the client may then fail to
// write the rest, which does not matter).
func (s *testServer) raw(tb testing.TB, request string) response {
	tb.Helper()
	conn, err := s.dial()
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	go conn.Write([]byte(request)) //nolint:errcheck // see above
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		tb.Fatalf("reading the response: %v", err)
	}
	return response{status: resp.StatusCode(), body: string(resp.Body()), contentType: string(resp.Header.ContentType())}
}

func (s *testServer) store() *queries.Store { return queries.New(s.pool) }

// dayKeep is how long keys are kept in production.
const dayKeep = 24 * time.Hour

func (s *testServer) post(tb testing.TB, body string, headers ...string) response {
	tb.Helper()
	return s.do(tb, "POST", "/reviews", "application/json", body, headers...)
}

func (s *testServer) put(tb testing.TB, path string) response {
	tb.Helper()
	return s.do(tb, "PUT", path, "", "")
}

// nextProduct hands each test its own product ids on the shared database.
var nextProduct atomic.Int32

func init() { nextProduct.Store(1_000_000) }

// product is a seeded product and its characteristics.
type product struct {
	id    int32
	chars []int32
}

// mustProduct creates a product with n characteristics (names from API.md).
func mustProduct(tb testing.TB, pool *pgxpool.Pool, n int) product {
	tb.Helper()
	p := product{id: nextProduct.Add(1)}
	names := []string{"Fit", "Length", "Comfort", "Quality", "Size", "Width"}
	for i := range n {
		var id int32
		err := pool.QueryRow(context.Background(),
			"INSERT INTO characteristics (product_id, name) VALUES ($1, $2) RETURNING id",
			p.id, names[i%len(names)]).Scan(&id)
		if err != nil {
			tb.Fatal(err)
		}
		p.chars = append(p.chars, id)
	}
	return p
}

// charsJSON rates every characteristic of p with value.
func (p product) charsJSON(value int) string {
	parts := make([]string, len(p.chars))
	for i, id := range p.chars {
		parts[i] = fmt.Sprintf(`"%d":%d`, id, value)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

const validBody = "This is the body of a review, at least fifty characters long."

// reviewJSON is a valid POST body for p; extra fields are appended (later
// keys win, so they override).
func (p product) reviewJSON(extra ...string) string {
	s := fmt.Sprintf(`{"product_id":%d,"rating":4,"summary":"Good","body":%q,"recommend":true,`+
		`"name":"jo","email":"jo@example.com","photos":["https://img.example.com/1.jpg"],"characteristics":%s`,
		p.id, validBody, p.charsJSON(3))
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// writeState is everything a write may change, to prove a rejected request
// changed nothing.
type writeState struct {
	Reviews, Photos, CharReviews, Keys int64
	MetaSum, CharSum, CharCount        int64
	Helpfulness, Reported              int64
}

func mustWriteState(tb testing.TB, pool *pgxpool.Pool) writeState {
	tb.Helper()
	var s writeState
	err := pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM reviews), (SELECT count(*) FROM reviews_photos),
		(SELECT count(*) FROM characteristic_reviews), (SELECT count(*) FROM idempotency_keys),
		(SELECT COALESCE(sum(rating_1 + 2*rating_2 + 3*rating_3 + 4*rating_4 + 5*rating_5 + recommend_false + 7*recommend_true), 0) FROM product_meta),
		(SELECT COALESCE(sum(value_sum), 0) FROM characteristics), (SELECT COALESCE(sum(value_count), 0) FROM characteristics),
		(SELECT COALESCE(sum(helpfulness), 0) FROM reviews), (SELECT count(*) FROM reviews WHERE reported)`).
		Scan(&s.Reviews, &s.Photos, &s.CharReviews, &s.Keys, &s.MetaSum, &s.CharSum, &s.CharCount, &s.Helpfulness, &s.Reported)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// aggregates is a product's read-model counts and sums as stored.
type aggregates struct {
	Ratings           [5]int32
	RecFalse, RecTrue int32
	Sums              []int64
	Counts            []int32
}

func mustAggregates(tb testing.TB, pool *pgxpool.Pool, p product) aggregates {
	tb.Helper()
	ctx := context.Background()
	var m aggregates
	err := pool.QueryRow(ctx, `SELECT rating_1, rating_2, rating_3, rating_4, rating_5, recommend_false, recommend_true
		FROM product_meta WHERE product_id = $1`, p.id).
		Scan(&m.Ratings[0], &m.Ratings[1], &m.Ratings[2], &m.Ratings[3], &m.Ratings[4], &m.RecFalse, &m.RecTrue)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		tb.Fatal(err)
	}
	rows, err := pool.Query(ctx, "SELECT value_sum, value_count FROM characteristics WHERE product_id = $1 ORDER BY id", p.id)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s int64
		var c int32
		if err := rows.Scan(&s, &c); err != nil {
			tb.Fatal(err)
		}
		m.Sums = append(m.Sums, s)
		m.Counts = append(m.Counts, c)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return m
}

func mustPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(testdb.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}
