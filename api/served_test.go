package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/api"
	"github.com/catwalk/reviews/handlers"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/server"
	"github.com/catwalk/reviews/testdb"
)

// shop is the origin CORS_ORIGINS allows in the served test.
const shop = "https://shop.example"

// startService runs the real service (server.Run: pools, cache,
// coherence, metrics, every route) on the test database and waits until
// it is ready. CORS is on for one origin and Cache-Control has its
// production max-age, so the answers carry every header the document
// describes.
func startService(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := testdb.URL(t) // here: a goroutine must not fail t
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			DatabaseURL:        url,
			Listener:           ln,
			LoaderIOToken:      loaderToken,
			CORSOrigins:        shop,
			CacheControlMaxAge: time.Second,
			Log:                slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	base := "http://" + ln.Addr().String()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 60s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startDown serves the handlers with a store whose database cannot be
// reached (a pool on a closed port), to see the documented 503s.
func startDown(t *testing.T) string {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		Handler:      handlers.New(queries.New(pool), nil, handlers.Config{}, log).Router(),
		ErrorHandler: handlers.ServerError,
	}
	go srv.Serve(ln) //nolint:errcheck // ends at Shutdown
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// sendTooLarge sends a request whose body is over the server's limit on a
// connection of its own and reads the answer: the server answers 413 from
// the Content-Length and closes, maybe before the body is all written,
// which net/http's client reports as a write error instead of the answer.
func sendTooLarge(t *testing.T, req *http.Request, c call) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", c.method, req.URL.RequestURI(), req.URL.Host, len(c.body))
	for i := 0; i+1 < len(c.headers); i += 2 {
		head += c.headers[i] + ": " + c.headers[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	go io.WriteString(conn, c.body) //nolint:errcheck // the server may close first
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	return resp
}

type call struct {
	base, method, path string
	headers            []string // name, value pairs
	body               string
	want               int
	// check, when set, looks further at the answer (its body is read).
	check func(t *testing.T, resp *http.Response, body []byte)
}

// send makes the request and returns the response with its body read
// (and still readable, for the validator).
func send(t *testing.T, c call) (*http.Request, *http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(c.method, c.base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(c.headers); i += 2 {
		req.Header.Set(c.headers[i], c.headers[i+1])
	}
	var resp *http.Response
	if len(c.body) > 64<<10 {
		resp = sendTooLarge(t, req, c)
	} else {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
		resp, err = client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// The validator reads the request's URL only; give it a fresh body.
	req.Body = io.NopCloser(strings.NewReader(c.body))
	return req, resp, body
}

// TestServedAsDocumented drives the running service through every
// operation of the document and every status it documents, and validates
// each answer against the document: the status must be documented for the
// operation, the content type declared, the body valid under its schema
// (additionalProperties: false, so a new, renamed or retyped field
// fails), required headers present; a response documented without a body
// must have none, one with a body must have one. Then every documented
// (operation, status) must have been seen, so a status the code stops
// answering fails too. Only 500 is exempt: no request can cause it on
// purpose.
func TestServedAsDocumented(t *testing.T) {
	_, doc, v := loadDoc(t)
	base := startService(t)
	down := startDown(t)

	// A product with two characteristics, seeded as the ETL would.
	pool, err := pgxpool.New(context.Background(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// A product no earlier run used (-count=N shares the database).
	var product int
	if err := pool.QueryRow(context.Background(), "SELECT coalesce(max(product_id), 4241) + 1 FROM characteristics").Scan(&product); err != nil {
		t.Fatal(err)
	}
	var chars []int
	for _, name := range []string{"Fit", "Length"} {
		var id int
		if err := pool.QueryRow(context.Background(),
			"INSERT INTO characteristics (product_id, name) VALUES ($1, $2) RETURNING id", product, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		chars = append(chars, id)
	}
	review := func(rating int, photos string) string {
		return fmt.Sprintf(`{"product_id":%d,"rating":%d,"summary":"Good","body":"This is the body of a review, at least fifty characters long.",`+
			`"recommend":true,"name":"jo","email":"jo@example.com","photos":%s,"characteristics":{"%d":%d,"%d":"3"}}`,
			product, rating, photos, chars[0], rating, chars[1])
	}
	jsonCT := []string{"Content-Type", "application/json"}
	big := strings.Repeat("x", 70<<10)

	// The review the PUTs work on, posted through the API.
	var reviewID int
	created := func(t *testing.T, _ *http.Response, body []byte) {
		var r struct {
			ReviewID int `json:"review_id"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.ReviewID < 1 {
			t.Fatalf("201 body %s", body)
		}
		reviewID = r.ReviewID
	}
	rid := func() string { return strconv.Itoa(reviewID) }
	listed := func(n int) func(t *testing.T, _ *http.Response, body []byte) {
		return func(t *testing.T, _ *http.Response, body []byte) {
			var l struct{ Results []json.RawMessage }
			json.Unmarshal(body, &l)
			if len(l.Results) != n {
				t.Errorf("%d results, want %d: %s", len(l.Results), n, body)
			}
		}
	}
	field := func(name string) func(t *testing.T, _ *http.Response, body []byte) {
		return func(t *testing.T, _ *http.Response, body []byte) {
			var e struct{ Field string }
			json.Unmarshal(body, &e)
			if e.Field != name {
				t.Errorf("field %q, want %q: %s", e.Field, name, body)
			}
		}
	}
	// Conditional GETs: etag keeps a GET's ETag for the If-None-Match of
	// the next call; headers checks that the CORS headers the document
	// describes were sent (the validator checks only the values of those
	// present, since they are optional), so their schemas are exercised.
	etags := map[string]string{}
	headers := func(want map[string]string) func(t *testing.T, resp *http.Response, body []byte) {
		return func(t *testing.T, resp *http.Response, body []byte) {
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		}
	}
	keepETag := func(name string) func(t *testing.T, resp *http.Response, body []byte) {
		return func(t *testing.T, resp *http.Response, body []byte) {
			headers(map[string]string{"Access-Control-Allow-Origin": shop, "Access-Control-Expose-Headers": "Allow, ETag, Retry-After", "Vary": "Origin"})(t, resp, body)
			if etags[name] = resp.Header.Get("ETag"); etags[name] == "" {
				t.Errorf("no ETag")
			}
		}
	}
	sameETag := func(name string) func(t *testing.T, resp *http.Response, body []byte) {
		return func(t *testing.T, resp *http.Response, body []byte) {
			headers(map[string]string{"ETag": etags[name], "Access-Control-Allow-Origin": shop, "Content-Type": ""})(t, resp, body)
		}
	}
	origin := []string{"Origin", shop}
	postKey, voteKey := fmt.Sprintf("post-%d", product), fmt.Sprintf("vote-%d", product)
	key := []string{"Content-Type", "application/json", "Idempotency-Key", postKey}
	P := strconv.Itoa(product)

	calls := []func() call{
		func() call {
			return call{base, "POST", "/reviews", key, review(5, `["https://img.example.com/1.jpg"]`), 201, created}
		},
		func() call {
			return call{base, "POST", "/reviews", key, review(5, `["https://img.example.com/1.jpg"]`), 201, nil}
		}, // replay
		func() call { return call{base, "POST", "/reviews", jsonCT, review(2, `null`), 201, nil} },
		func() call {
			return call{base, "POST", "/reviews", key, review(4, `[]`), 422, field("Idempotency-Key")}
		},
		func() call { return call{base, "POST", "/reviews", jsonCT, `{"product_id":`, 400, nil} },
		func() call {
			return call{base, "POST", "/reviews", []string{"Content-Type", "text/plain"}, review(5, `[]`), 415, nil}
		},
		func() call { return call{base, "POST", "/reviews", jsonCT, `{"x":"` + big + `"}`, 413, nil} },
		func() call { return call{base, "POST", "/reviews", jsonCT, `{"product_id":1}`, 422, field("rating")} },
		func() call { return call{base, "GET", "/reviews?product_id=" + P, nil, "", 200, listed(2)} },
		func() call {
			return call{base, "GET", "/reviews?product_id=" + P + "&page=2&count=1&sort=newest", nil, "", 200, listed(1)}
		},
		func() call {
			return call{base, "GET", "/reviews?product_id=" + P + "&page=3&count=1&sort=helpful", nil, "", 200, listed(0)}
		},
		func() call { return call{base, "GET", "/reviews/?product_id=" + P, nil, "", 200, listed(2)} },
		func() call { return call{base, "GET", "/reviews?page=0", nil, "", 422, field("product_id")} },
		func() call {
			return call{base, "GET", "/reviews?product_id=" + P + "&page=0", nil, "", 422, field("page")}
		},
		func() call {
			return call{base, "GET", "/reviews?product_id=1&sort=oldest", nil, "", 422, field("sort")}
		},
		func() call { return call{base, "GET", "/reviews?product_id=%zz", nil, "", 400, nil} },
		func() call { return call{base, "GET", "/reviews/?product_id=x", nil, "", 422, field("product_id")} },
		func() call { return call{base, "GET", "/reviews/?product_id=%zz", nil, "", 400, nil} },
		func() call { return call{base, "GET", "/reviews/meta?product_id=" + P, nil, "", 200, nil} },
		func() call { return call{base, "GET", "/reviews/meta?product_id=999999", nil, "", 200, nil} },
		// A browser revalidating: the first answer's ETag in If-None-Match.
		func() call { return call{base, "GET", "/reviews?product_id=" + P, origin, "", 200, keepETag("list")} },
		func() call {
			return call{base, "GET", "/reviews?product_id=" + P, []string{"Origin", shop, "If-None-Match", etags["list"]}, "", 304, sameETag("list")}
		},
		func() call {
			return call{base, "GET", "/reviews/meta?product_id=" + P, origin, "", 200, keepETag("meta")}
		},
		func() call {
			return call{base, "GET", "/reviews/meta?product_id=" + P, []string{"Origin", shop, "If-None-Match", etags["meta"]}, "", 304, sameETag("meta")}
		},
		func() call { return call{base, "GET", "/reviews/meta?product_id=0", nil, "", 422, field("product_id")} },
		func() call { return call{base, "GET", "/reviews/meta?product_id=%g1", nil, "", 400, nil} },
		func() call { return call{base, "PUT", "/reviews/" + rid() + "/helpful", nil, "", 204, nil} },
		func() call {
			return call{base, "PUT", "/reviews/" + rid() + "/helpful", []string{"Idempotency-Key", voteKey}, "", 204, nil}
		},
		func() call {
			return call{base, "PUT", "/reviews/" + rid() + "/helpful", []string{"Idempotency-Key", postKey}, "", 422, field("Idempotency-Key")}
		},
		func() call { return call{base, "PUT", "/reviews/2147483647/helpful", nil, "", 404, field("review_id")} },
		func() call { return call{base, "PUT", "/reviews/abc/helpful", nil, "", 422, field("review_id")} },
		func() call { return call{base, "PUT", "/reviews/1/helpful", jsonCT, big, 413, nil} },
		func() call { return call{base, "PUT", "/reviews/" + rid() + "/report", nil, "", 204, nil} },
		func() call { return call{base, "PUT", "/reviews/" + rid() + "/report", nil, "", 204, nil} },
		func() call { return call{base, "PUT", "/reviews/2147483647/report", nil, "", 404, field("review_id")} },
		func() call { return call{base, "PUT", "/reviews/0/report", nil, "", 422, field("review_id")} },
		func() call { return call{base, "PUT", "/reviews/1/report", jsonCT, big, 413, nil} },
		func() call { return call{base, "GET", "/reviews?product_id=" + P, nil, "", 200, listed(1)} }, // reported: gone
		func() call { return call{base, "OPTIONS", "/reviews", nil, "", 204, nil} },
		func() call { return call{base, "OPTIONS", "/reviews/meta", nil, "", 204, nil} },
		func() call { return call{base, "OPTIONS", "/reviews/1/helpful", nil, "", 204, nil} },
		func() call { return call{base, "OPTIONS", "/reviews/1/report", nil, "", 204, nil} },
		func() call {
			return call{base, "OPTIONS", "/reviews", []string{"Origin", shop, "Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "content-type,idempotency-key"}, "", 204, headers(map[string]string{
				"Access-Control-Allow-Origin":  shop,
				"Access-Control-Allow-Methods": "GET, OPTIONS, POST",
				"Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
				"Access-Control-Max-Age":       "7200",
				"Vary":                         "Origin",
			})}
		},
		func() call { return call{base, "GET", "/healthz", nil, "", 200, nil} },
		func() call { return call{base, "GET", "/readyz", nil, "", 200, nil} },
		func() call { return call{base, "GET", "/metrics", nil, "", 200, nil} },
		func() call {
			return call{base, "GET", "/openapi.json", nil, "", 200, func(t *testing.T, _ *http.Response, body []byte) {
				if !bytes.Equal(body, api.JSON()) {
					t.Error("/openapi.json is not api/openapi.json")
				}
			}}
		},
		func() call { return call{base, "GET", "/" + loaderToken + "/", nil, "", 200, nil} },
		func() call { return call{base, "GET", "/" + loaderToken + ".txt", nil, "", 200, nil} },
		// The database down.
		func() call { return call{down, "GET", "/reviews?product_id=1", nil, "", 503, nil} },
		func() call { return call{down, "GET", "/reviews/?product_id=1", nil, "", 503, nil} },
		func() call { return call{down, "GET", "/reviews/meta?product_id=1", nil, "", 503, nil} },
		func() call { return call{down, "POST", "/reviews", jsonCT, review(5, `[]`), 503, nil} },
		func() call { return call{down, "PUT", "/reviews/1/helpful", nil, "", 503, nil} },
		func() call { return call{down, "PUT", "/reviews/1/report", nil, "", 503, nil} },
		func() call { return call{down, "GET", "/readyz", nil, "", 503, nil} },
	}

	opts := config.NewValidationOptions()
	seen := map[string]bool{}
	for _, mk := range calls {
		c := mk()
		name := c.method + " " + c.path
		if len(name) > 80 {
			name = name[:80] + "…"
		}
		req, resp, body := send(t, c)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, body, c.want)
			continue
		}
		if strings.HasPrefix(c.path, "/reviews/?") {
			// Documented with GET /reviews, which it answers alike
			// (checked below); validators match paths exactly.
			req.URL.Path = "/reviews"
			if c.base == base {
				_, _, same := send(t, call{base: c.base, method: c.method, path: "/reviews?" + req.URL.RawQuery})
				if !bytes.Equal(body, same) {
					t.Errorf("%s: %s, but GET /reviews answers %s", name, body, same)
				}
			}
		}
		item, errs, docPath := paths.FindPath(req, doc, opts)
		if item == nil {
			t.Errorf("%s: no documented path: %v", name, errs)
			continue
		}
		if ok, errs := v.ValidateHttpResponse(req, resp); !ok {
			for _, e := range errs {
				t.Errorf("%s → %d (%s): %s: %s", name, resp.StatusCode, docPath, e.Message, e.Reason)
				for _, se := range e.SchemaValidationErrors {
					t.Errorf("    %s: %s", se.FieldPath, se.Reason)
				}
			}
			t.Logf("body: %s", body)
		}
		op := item.GetOperations().GetOrZero(strings.ToLower(c.method))
		if op == nil {
			t.Errorf("%s: %s has no %s operation", name, docPath, c.method)
			continue
		}
		code := strconv.Itoa(resp.StatusCode)
		if r := op.Responses.Codes.GetOrZero(code); r != nil {
			checkBodyPresence(t, name, r, body)
			checkHeadersDocumented(t, name, r, resp, req.Header.Get("Origin") != "")
		}
		if c.check != nil {
			c.check(t, resp, body)
		}
		seen[c.method+" "+docPath+" "+code] = true
	}

	for path, item := range doc.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			for code := range op.Responses.Codes.FromOldest() {
				k := strings.ToUpper(method) + " " + path + " " + code
				if code == "500" || seen[k] {
					continue
				}
				t.Errorf("documented, never answered by the service in this test: %s", k)
			}
		}
	}
}

// checkBodyPresence: a response documented with content has a body, one
// documented without has none.
func checkBodyPresence(t *testing.T, name string, r *v3.Response, body []byte) {
	t.Helper()
	if n := orderedmap.Len(r.Content); n == 0 && len(body) > 0 {
		t.Errorf("%s: documented without a body, answered %q", name, body)
	} else if n > 0 && len(body) == 0 {
		t.Errorf("%s: documented with a body, answered none", name)
	}
}

// apiHeaders are the response headers the service itself adds; the
// validator checks those a response documents, but not that a header
// sent is documented, and ignores even ETag and Cache-Control in its
// strict mode. corsHeaders are sent to a page's requests (with Origin).
var (
	apiHeaders  = []string{"Allow", "Retry-After", "ETag", "Cache-Control"}
	corsHeaders = []string{"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Access-Control-Allow-Methods",
		"Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"}
)

// checkHeadersDocumented: every header of this API the answer carries is
// documented on its response, so dropping one from the document (or
// sending a new one) fails; the CORS headers are checked on answers to a
// request with Origin.
func checkHeadersDocumented(t *testing.T, name string, r *v3.Response, resp *http.Response, fromPage bool) {
	t.Helper()
	names := apiHeaders
	if fromPage {
		names = append(slices.Clip(names), corsHeaders...)
	}
	for _, h := range names {
		if resp.Header.Get(h) == "" {
			continue
		}
		documented := false
		for k := range r.Headers.KeysFromOldest() {
			documented = documented || strings.EqualFold(k, h)
		}
		if !documented {
			t.Errorf("%s → %d: sends %s: %s, not documented on this response", name, resp.StatusCode, h, resp.Header.Get(h))
		}
	}
}

// TestOffRouteAnswers: the answers that belong to no operation (an unknown
// path, a known path with another method) are the document's NotFound and
// MethodNotAllowed responses, with the Allow header the OPTIONS operations
// also document.
func TestOffRouteAnswers(t *testing.T) {
	_, doc, _ := loadDoc(t)
	h := handlers.New(nil, nil, handlers.Config{}, nil).Router()
	responses := doc.Components.Responses
	for _, c := range []struct {
		method, path, response, allow string
		status                        int
	}{
		{"GET", "/nope", "NotFound", "", 404},
		{"PUT", "/reviews/1/nope", "NotFound", "", 404},
		{"DELETE", "/reviews", "MethodNotAllowed", "GET, OPTIONS, POST", 405},
		{"POST", "/reviews/meta", "MethodNotAllowed", "GET, OPTIONS", 405},
		{"GET", "/reviews/1/helpful", "MethodNotAllowed", "OPTIONS, PUT", 405},
		{"OPTIONS", "/reviews/1/report", "Options", "OPTIONS, PUT", 204},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(c.method)
		ctx.Request.SetRequestURI(c.path)
		h(&ctx)
		name := c.method + " " + c.path
		if got := ctx.Response.StatusCode(); got != c.status {
			t.Errorf("%s: %d, want %d", name, got, c.status)
			continue
		}
		r := responses.GetOrZero(c.response)
		if r == nil {
			t.Fatalf("no components.responses.%s", c.response)
		}
		checkBodyPresence(t, name, r, ctx.Response.Body())
		for hname, hd := range r.Headers.FromOldest() {
			got := string(ctx.Response.Header.Peek(hname))
			if hd.Required && got == "" {
				t.Errorf("%s: no %s header", name, hname)
			}
			if hname == "Allow" && got != c.allow {
				t.Errorf("%s: Allow %q, want %q", name, got, c.allow)
			}
		}
		for mt, m := range r.Content.FromOldest() {
			if ct := string(ctx.Response.Header.ContentType()); !strings.HasPrefix(ct, mt) {
				t.Errorf("%s: Content-Type %q, want %s", name, ct, mt)
			}
			if err := validateBody(m, ctx.Response.Body()); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// validateBody checks body against the media type's schema.
func validateBody(m *v3.MediaType, body []byte) error {
	if ok, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytesWithVersion(m.Schema.Schema(), body, 3.1); !ok {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message)
		}
		return fmt.Errorf("%s: %s", body, strings.Join(msgs, "; "))
	}
	return nil
}
