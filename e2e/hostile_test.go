package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

// canary sums up the tables a request could change: row counts and a
// checksum of every row of reviews, product_meta and characteristics.
func canary(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `
SELECT concat_ws(' ',
  (SELECT count(*) FROM reviews),
  (SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM reviews r),
  (SELECT count(*) FROM product_meta),
  (SELECT md5(coalesce(string_agg(m::text, '|' ORDER BY m.product_id), '')) FROM product_meta m),
  (SELECT count(*) FROM characteristics),
  (SELECT md5(coalesce(string_agg(c::text, '|' ORDER BY c.id), '')) FROM characteristics c),
  (SELECT count(*) FROM characteristic_reviews),
  (SELECT count(*) FROM reviews_photos),
  (SELECT count(*) FROM idempotency_keys))`).Scan(&s)
	if err != nil {
		t.Fatalf("canary: %v", err)
	}
	return s
}

// hostileCase is one request a hostile client sends, as raw bytes.
type hostileCase struct {
	name string
	req  string
	// allow lists the statuses it may get besides any 4xx (a harmless
	// request's documented success); none may be 5xx but 505 for an HTTP
	// version NGINX does not speak.
	allow []int
	// nginx and direct, when set, are the only statuses allowed through
	// NGINX and straight to an instance (no other 4xx).
	nginx, direct []int
	// http09: the answer may be a bare JSON error body (NGINX's answer to
	// an HTTP/0.9 request has no status line).
	http09 bool
}

func hostileCases() []hostileCase {
	get := func(target string) string { return "GET " + target + " HTTP/1.1\r\nHost: catwalk\r\n\r\n" }
	put := func(target string) string {
		return "PUT " + target + " HTTP/1.1\r\nHost: catwalk\r\nContent-Length: 0\r\n\r\n"
	}
	post := func(body string, header ...string) string {
		h := "POST /reviews HTTP/1.1\r\nHost: catwalk\r\nContent-Type: application/json\r\n"
		for _, l := range header {
			h += l + "\r\n"
		}
		if !strings.Contains(strings.ToLower(h), "content-length") && !strings.Contains(strings.ToLower(h), "transfer-encoding") {
			h += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
		}
		return h + "\r\n" + body
	}
	// review is a valid POST body for the fixture's product but for
	// field=value (raw JSON), so each case fails on that one field only.
	review := func(field, value string) string {
		f := map[string]string{
			"product_id":      `4242`,
			"rating":          `4`,
			"summary":         `"fine"`,
			"body":            `"` + strings.Repeat("b", 60) + `"`,
			"recommend":       `true`,
			"name":            `"kim"`,
			"email":           `"kim@example.com"`,
			"photos":          `[]`,
			"characteristics": `{"9001":4,"9002":5}`,
		}
		f[field] = value
		var parts []string
		for _, k := range []string{"product_id", "rating", "summary", "body", "recommend", "name", "email", "photos", "characteristics"} {
			parts = append(parts, `"`+k+`":`+f[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	ok200 := []int{200}
	var cs []hostileCase
	add := func(name, req string, allow ...int) {
		cs = append(cs, hostileCase{name: name, req: req, allow: allow})
	}

	// Ids: each must be an integer 1..2147483647 written in ASCII digits.
	ids := map[string]string{
		"0": "0", "-1": "-1", "2^31": "2147483648", "1e3": "1e3", "0x10": "0x10", "1.0": "1.0",
		"+1": "%2B1", "space 1": "%201", "empty": "", "abc": "abc", "20 digits": "99999999999999999999",
		"Arabic-Indic digits": "%D9%A1%D9%A2", "fullwidth 3": "%EF%BC%93", "3000 digits": strings.Repeat("9", 3000),
	}
	for name, id := range ids {
		add("product_id "+name+" list", get("/reviews?product_id="+id))
		add("product_id "+name+" meta", get("/reviews/meta?product_id="+id))
		add("review_id "+name+" helpful", put("/reviews/"+id+"/helpful"))
		add("review_id "+name+" report", put("/reviews/"+id+"/report"))
	}
	add("review_id absent helpful", put("/reviews/2147483647/helpful"))
	add("review_id absent report", put("/reviews/2147483647/report"))

	// Encodings.
	add("product_id %00", get("/reviews?product_id=%00"))
	add("product_id 1%00", get("/reviews?product_id=1%00"))
	add("product_id %zz", get("/reviews?product_id=%zz"))
	add("sort overlong UTF-8", get("/reviews?product_id=4242&sort=%C0%AF"))
	add("sort invalid UTF-8", get("/reviews?product_id=4242&sort=%FF%FE"))
	add("raw invalid UTF-8 in query", get("/reviews?product_id=4242&sort=\xff\xfe"))
	add("review_id %00", put("/reviews/%00/helpful"))
	add("path %zz", get("/%zz"))
	add("NGINX's error page", get("/_nginx/400"))
	add("body invalid UTF-8", post(review("summary", "\"\xff\xfe\"")))
	add("body overlong UTF-8", post(review("summary", "\"\xc0\xaf\"")))
	add("body escaped NUL", post(review("summary", `"a\u0000b"`)))
	add("body lone surrogate", post(review("body", `"`+strings.Repeat("b", 60)+`\ud800"`)))
	add("body not JSON", post(`{"product_id":`))
	add("body JSON array", post(`[1,2,3]`))
	add("body rating 6", post(review("rating", "6")))
	add("body characteristics of another product", post(review("characteristics", `{"1":4}`)))
	add("body text/plain", strings.Replace(post(review("rating", "4")), "application/json", "text/plain", 1))
	add("body charset latin1", strings.Replace(post(review("rating", "4")), "application/json", "application/json; charset=latin1", 1))

	// Sizes.
	add("count 1000000", get("/reviews?product_id=4242&count=1000000"), 200)
	add("count 2^31", get("/reviews?product_id=4242&count=2147483648"))
	add("count 0", get("/reviews?product_id=4242&count=0"))
	add("page 2^31-1", get("/reviews?product_id=4242&page=2147483647&count=2147483647"), 200)
	add("page 20 digits", get("/reviews?product_id=4242&page=99999999999999999999"))
	add("body 64 KiB + 1", post(strings.Repeat(" ", 64<<10+1)))
	cs = append(cs, hostileCase{name: "9 KiB header", req: "GET /healthz HTTP/1.1\r\nHost: catwalk\r\nX-Big: " + strings.Repeat("x", 9<<10) + "\r\n\r\n",
		nginx: []int{431}, direct: ok200})
	var many strings.Builder
	for i := range 100 {
		fmt.Fprintf(&many, "X-H%d: %d\r\n", i, i)
	}
	add("100 headers", "GET /healthz HTTP/1.1\r\nHost: catwalk\r\n"+many.String()+"\r\n", 200)
	add("20 KiB header", "GET /healthz HTTP/1.1\r\nHost: catwalk\r\nX-Big: "+strings.Repeat("x", 20<<10)+"\r\n\r\n")
	add("20 KiB URI", get("/reviews?product_id=4242&x="+strings.Repeat("x", 20<<10)))

	// Methods.
	cs = append(cs, hostileCase{name: "TRACE", req: "TRACE /reviews HTTP/1.1\r\nHost: catwalk\r\n\r\n", nginx: []int{405}, direct: []int{405}})
	add("TRACE unknown route", "TRACE /nope HTTP/1.1\r\nHost: catwalk\r\n\r\n")
	add("CONNECT", "CONNECT catwalk:443 HTTP/1.1\r\nHost: catwalk:443\r\n\r\n")
	add("lowercase get", "get /healthz HTTP/1.1\r\nHost: catwalk\r\n\r\n")
	add("unknown method", "FROB /reviews HTTP/1.1\r\nHost: catwalk\r\n\r\n")
	add("PATCH", "PATCH /reviews HTTP/1.1\r\nHost: catwalk\r\nContent-Length: 0\r\n\r\n")
	add("DELETE", "DELETE /reviews/9001/helpful HTTP/1.1\r\nHost: catwalk\r\n\r\n")
	add("OPTIONS", "OPTIONS /reviews HTTP/1.1\r\nHost: catwalk\r\n\r\n", 204)

	// Headers.
	add("Content-Length abc", post(`{}`, "Content-Length: abc"))
	add("Content-Length -1", post(`{}`, "Content-Length: -1"))
	add("duplicate Content-Length", post(`{}`, "Content-Length: 2", "Content-Length: 3"))
	add("Content-Length and chunked", post("2\r\n{}\r\n0\r\n\r\n", "Content-Length: 4", "Transfer-Encoding: chunked"))
	add("chunked garbage", post("zz\r\n{}\r\n0\r\n\r\n", "Transfer-Encoding: chunked"))
	add("Transfer-Encoding gzip", post("{}", "Transfer-Encoding: gzip", "Content-Length: 2"))
	add("Host with space", "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n")
	add("two Hosts", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
	add("no Host", "GET /healthz HTTP/1.1\r\n\r\n")
	// Header lines one side cannot parse: NGINX drops a line without a
	// colon and refuses the others; an instance drops the line it cannot
	// read. Either refuses or serves the request without the line.
	add("header without colon", "GET /healthz HTTP/1.1\r\nHost: catwalk\r\nnocolon\r\n\r\n", 200)
	add("header name with space", "GET /healthz HTTP/1.1\r\nHost: catwalk\r\nBad Name: x\r\n\r\n", 200)
	add("folded header", "GET /healthz HTTP/1.1\r\nHost: catwalk\r\nX-A: a\r\n folded\r\n\r\n", 200)
	add("Idempotency-Key 300 characters", post(review("rating", "9"), "Idempotency-Key: "+strings.Repeat("k", 300)))

	// Raw bytes.
	add("TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"+strings.Repeat("\x00", 32)+"\x00\x00\x02\x13\x01\x01\x00")
	add("NUL bytes", "\x00\x00\x00\x00\r\n\r\n")
	add("NUL in URI", get("/reviews\x00?product_id=1"))
	add("space in URI", get("/reviews?product_id=1 2"))
	add("binary garbage", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\r\n\r\n")
	// Bare LF: NGINX serves it; an instance serves it or answers 400, at
	// once either way.
	add("bare LF line endings", "GET /healthz HTTP/1.1\nHost: catwalk\n\n", 200)
	cs = append(cs, hostileCase{name: "HTTP/0.9", req: "GET /healthz\r\n", http09: true})
	add("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	// NGINX speaks HTTP/1.x only (505); an instance serves it as 1.1.
	cs = append(cs, hostileCase{name: "HTTP/2.0 request line", req: "GET /healthz HTTP/2.0\r\nHost: catwalk\r\n\r\n", nginx: []int{505}, direct: ok200})
	add("HTTP/1.1 with an absolute URI of another host", "GET http://elsewhere.example/healthz HTTP/1.1\r\nHost: catwalk\r\n\r\n", 200)
	return cs
}

// TestHostileRequests sends the hostile table through NGINX and straight
// to the instances. Each answer is a 4xx in the API's JSON error shape (or
// the documented success of a harmless request), never a 5xx, never HTML;
// the database is unchanged afterwards, and every instance is up and
// within its memory bound.
func TestHostileRequests(t *testing.T) {
	url := testdb.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), apiFixture); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	// A long read timeout, so an instance that waits for more instead of
	// answering at once cannot pass by timing out into a 400.
	c := startCluster(t, "DATABASE_URL="+url, "READ_TIMEOUT=60s")
	before := canary(t, pool)

	cases := hostileCases()
	requests := 0
	for i, hc := range cases {
		targets := []struct {
			name  string
			addr  string
			allow []int
		}{
			{"NGINX", "127.0.0.1:" + strconv.Itoa(c.Nginx.Port), hc.nginx},
			{"instance", "127.0.0.1:" + strconv.Itoa(c.Instances[i%3].Port), hc.direct},
		}
		for _, tg := range targets {
			requests++
			r := rawDo(tg.addr, "", []byte(hc.req))
			allow := hc.allow
			if tg.allow != nil {
				allow = tg.allow
			}
			if msg := judge(hc, allow, r); msg != "" {
				t.Errorf("%s via %s: %s; got %s", hc.name, tg.name, msg, r)
			}
		}
	}
	t.Logf("%d cases, %d requests", len(cases), requests)
	if requests < 100 {
		t.Errorf("only %d requests: the table must send at least 100", requests)
	}

	if after := canary(t, pool); after != before {
		t.Errorf("the database changed under hostile requests:\nbefore %s\nafter  %s", before, after)
	}
	for i, in := range c.Instances {
		select {
		case <-in.exited:
			t.Errorf("instance %d exited: %v\n%s", i+1, in.err, in.out.String())
			continue
		default:
		}
		if r := do(t, "GET", in.URL("/healthz"), ""); r.Status != 200 {
			t.Errorf("instance %d: /healthz %d after the hostile table", i+1, r.Status)
		}
		// The documented bound: CACHE_MAX_BYTES (default 256 MiB) + 256 MiB.
		if rss := residentBytes(t, in.cmd.Process.Pid); rss > 512<<20 {
			t.Errorf("instance %d resident memory %d MiB, over its 512 MiB bound", i+1, rss>>20)
		}
	}
	if r := do(t, "GET", c.Nginx.URL("/healthz"), ""); r.Status != 200 {
		t.Errorf("NGINX: /healthz %d after the hostile table", r.Status)
	}
	if strings.Contains(c.Nginx.out.String(), "prematurely closed") || strings.Contains(c.Nginx.out.String(), "failed (104") {
		t.Errorf("an instance dropped a connection NGINX passed on:\n%s", c.Nginx.out.String())
	}
}

// judge says what is wrong with r as an answer to hc ("" when nothing):
// a status in allow or some 4xx; JSON, the error shape for errors.
func judge(hc hostileCase, allow []int, r rawResponse) string {
	if r.Err != nil {
		return "want an answer at once"
	}
	if r.Status == 0 {
		if hc.http09 && isErrorJSON(r.Body) {
			return ""
		}
		return "want a status line"
	}
	allowed := false
	for _, s := range allow {
		allowed = allowed || s == r.Status
	}
	narrowed := hc.nginx != nil || hc.direct != nil
	if !allowed && (narrowed || r.Status < 400 || r.Status > 499) {
		return fmt.Sprintf("want 4xx or %v", allow)
	}
	if r.Status == 204 {
		if r.Body != "" {
			return "204 with a body"
		}
		return ""
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		return "want Content-Type application/json; charset=utf-8"
	}
	if r.Status >= 400 && !isErrorJSON(r.Body) {
		return `want the body {"error":"..."}`
	}
	if r.Status < 400 && !json.Valid([]byte(r.Body)) {
		return "want a JSON body"
	}
	if r.Status == 405 && r.Header.Get("Allow") == "" {
		return "405 without Allow"
	}
	if r.Status == 429 || r.Status == 503 {
		if r.Header.Get("Retry-After") == "" {
			return "without Retry-After"
		}
	}
	return ""
}

// residentBytes is the resident set size of process pid (Linux).
func residentBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("reading the instance's memory: %v", err)
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(v)), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/<pid>/status")
	return 0
}
