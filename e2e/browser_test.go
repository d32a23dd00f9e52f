package e2e

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

// TestNginxBrowser: what a browser frontend meets through NGINX with
// CORS_ORIGINS and CACHE_CONTROL_MAX_AGE set. NGINX passes preflights
// (OPTIONS) and If-None-Match to the instances and their 304s back; every
// instance gives a body the same ETag; a body NGINX gzips gets the weak
// form of the tag (W/"…"), which the browser sends back and which is
// answered 304 too.
func TestNginxBrowser(t *testing.T) {
	url := testdb.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// Product 4243: a list over NGINX's gzip_min_length (1 KiB).
	if _, err := pool.Exec(context.Background(), apiFixture+`
INSERT INTO reviews (id, product_id, rating, date, summary, body, recommend, reported, reviewer_name, reviewer_email, response, helpfulness, photos)
OVERRIDING SYSTEM VALUE SELECT 9100 + g, 4243, 4, '2023-01-01T00:00:00Z', 'long', repeat('a long body ', 40), true, false, 'kim', 'kim@example.com', NULL, 0, '[]'
FROM generate_series(1, 5) g;`); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	const shop = "https://shop.example"
	c := startCluster(t, "DATABASE_URL="+url, "CORS_ORIGINS="+shop+",http://localhost:5173", "CACHE_CONTROL_MAX_AGE=3s")
	nginx := c.Nginx.URL
	strong := regexp.MustCompile(`^"[A-Za-z0-9_-]{22}"$`)

	// Every instance answers the same body with the same tag (each asked
	// directly, then through NGINX, which sends a product's reads to one of
	// them).
	var etag string
	urls := []string{nginx("/reviews?product_id=4242")}
	for _, in := range c.Instances {
		urls = append(urls, in.URL("/reviews?product_id=4242"))
	}
	for i, u := range urls {
		r := do(t, "GET", u, "", "Origin", shop)
		got := r.Header.Get("ETag")
		if r.Status != 200 || !strong.MatchString(got) {
			t.Fatalf("GET: %d ETag %q", r.Status, got)
		}
		if i == 0 {
			etag = got
		} else if got != etag {
			t.Fatalf("instances disagree on the tag: %s and %s", etag, got)
		}
		if r.Header.Get("Cache-Control") != "public, max-age=3" || r.Header.Get("Access-Control-Allow-Origin") != shop ||
			!slices.Contains(r.Header.Values("Vary"), "Origin") || r.Header.Get("Access-Control-Expose-Headers") != "Allow, ETag, Retry-After" {
			t.Fatalf("GET headers: %v", r.Header)
		}
	}
	for range 3 {
		r := do(t, "GET", nginx("/reviews?product_id=4242"), "", "Origin", shop, "If-None-Match", etag)
		if r.Status != 304 || r.Body != "" || r.Header.Get("ETag") != etag || r.Header.Get("Access-Control-Allow-Origin") != shop {
			t.Fatalf("If-None-Match: %d %q %v", r.Status, r.Body, r.Header)
		}
	}

	// Gzipped by NGINX: the tag turns weak, and still revalidates.
	r := do(t, "GET", nginx("/reviews?product_id=4243"), "", "Accept-Encoding", "gzip")
	weak := r.Header.Get("ETag")
	if r.Status != 200 || r.Header.Get("Content-Encoding") != "gzip" || len(weak) < 3 || weak[:2] != "W/" || !strong.MatchString(weak[2:]) {
		t.Fatalf("gzipped GET: %d Content-Encoding %q ETag %q", r.Status, r.Header.Get("Content-Encoding"), weak)
	}
	if r := do(t, "GET", nginx("/reviews?product_id=4243"), "", "Accept-Encoding", "gzip", "If-None-Match", weak); r.Status != 304 || r.Body != "" {
		t.Fatalf("If-None-Match %s: %d %q", weak, r.Status, r.Body)
	}
	if r := do(t, "GET", nginx("/reviews?product_id=4243"), "", "If-None-Match", weak[2:]); r.Status != 304 {
		t.Fatalf("If-None-Match with the strong tag of a gzipped answer: %d", r.Status)
	}

	// A preflight reaches an instance and comes back whole.
	r = do(t, "OPTIONS", nginx("/reviews/9001/helpful"), "", "Origin", "http://localhost:5173",
		"Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "idempotency-key")
	want := map[string]string{
		"Access-Control-Allow-Origin":  "http://localhost:5173",
		"Access-Control-Allow-Methods": "OPTIONS, PUT",
		"Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
		"Access-Control-Max-Age":       "7200",
		"Allow":                        "OPTIONS, PUT",
	}
	if r.Status != 204 || r.Body != "" {
		t.Fatalf("preflight: %d %q", r.Status, r.Body)
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("preflight: %s %q, want %q", k, got, v)
		}
	}
	// An origin not listed gets no permission.
	r = do(t, "OPTIONS", nginx("/reviews"), "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight from another origin: %d %v", r.Status, r.Header)
	}
}
