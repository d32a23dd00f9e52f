package handlers

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/ids"
	"github.com/catwalk/reviews/queries"
)

// The fuzz targets of the HTTP surface. Their seed corpora are
// testdata/fuzz/<target>/ (plain `go test` runs them as regression tests);
// `make fuzz` runs each for FUZZTIME.
//
// The handlers they drive have a real store whose database cannot be
// reached (a pool on a closed port): whatever reaches the database answers
// 503, so a 503 tells that the input passed validation, and any other 5xx
// is a bug. Fuzz workers start no test cluster (see TestMain).

var (
	unreachableOnce sync.Once
	unreachable     fasthttp.RequestHandler
)

func fuzzRouter(tb testing.TB) fasthttp.RequestHandler {
	unreachableOnce.Do(func() {
		pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
		if err != nil {
			tb.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		unreachable = New(queries.New(pool), nil, Config{}, log).Router()
	})
	return unreachable
}

// errorShape checks a response of status ≥ 400 is the API's JSON error
// and returns its field.
func errorShape(t *testing.T, resp *fasthttp.Response) string {
	t.Helper()
	var e struct {
		Error string
		Field string
	}
	if err := json.Unmarshal(resp.Body(), &e); err != nil || e.Error == "" ||
		string(resp.Header.ContentType()) != contentTypeJSON {
		t.Fatalf("status %d: body %q (%s) is not the API's JSON error", resp.StatusCode(), resp.Body(), resp.Header.ContentType())
	}
	if resp.StatusCode() == fasthttp.StatusServiceUnavailable && len(resp.Header.Peek("Retry-After")) == 0 {
		t.Fatalf("503 without Retry-After")
	}
	return e.Field
}

// readRequest parses requestLine (with a Host header) as the server does
// from the wire. When fasthttp refuses it, the server's error handler
// answers: that must be a 4xx JSON error, and readRequest returns false.
func readRequest(t *testing.T, c *fasthttp.RequestCtx, requestLine string) bool {
	t.Helper()
	raw := requestLine + " HTTP/1.1\r\nHost: catwalk\r\n\r\n"
	err := c.Request.Read(bufio.NewReader(strings.NewReader(raw)))
	if err == nil {
		return true
	}
	ServerError(c, err)
	if s := c.Response.StatusCode(); s < 400 || s >= 500 {
		t.Fatalf("%q refused by fasthttp (%v): status %d", requestLine, err, s)
	}
	errorShape(t, &c.Response)
	return false
}

// FuzzListParams: any query string of GET /reviews either parses to values
// within API.md's ranges or is a 400 (bad percent-encoding) or a 422
// naming one of the four parameters; served, it answers 200 (a page past
// any product's end needs no database), that 4xx, or 503 (it reached the
// database), never another 5xx. The same holds for GET /reviews/meta.
func FuzzListParams(f *testing.F) {
	for _, q := range []string{
		"product_id=1", "product_id=1&page=2&count=10&sort=newest", "product_id=1&count=1000000&page=3000",
		"product_id=0", "product_id=2147483648", "product_id=1&sort=NEWEST", "product_id=%zz", "product_id=1%",
		"product_id=1&product_id=x", "product_id=&page=1", "page=1", "product_id=1&count=-1", "product_id=+1",
		"product_id=%31", "product_id=1&sort=helpful&sort=x", "product_id=1;page=2", "product_id=1&page=2147483647&count=2147483647",
	} {
		f.Add(q)
	}
	h := fuzzRouter(f)
	f.Fuzz(func(t *testing.T, q string) {
		var ctx fasthttp.RequestCtx
		if !readRequest(t, &ctx, "GET /reviews?"+q) {
			return
		}
		p, err := parseListParams(&ctx)
		if err == nil {
			if p.product < 1 || p.page < 1 || p.count < 1 || p.sort > queries.SortHelpful {
				t.Fatalf("%q parsed to %+v: out of range", q, p)
			}
			if want, _ := ids.Parse(ctx.QueryArgs().Peek("product_id")); want != p.product {
				t.Fatalf("%q: product %d, the parameter says %d", q, p.product, want)
			}
		} else {
			e, ok := err.(*Error)
			switch {
			case !ok:
				t.Fatalf("%q: error %T %v is not an *Error", q, err, err)
			case e.Status == 400 && e.Field == "" && !validPercentEncoding(ctx.URI().QueryString()):
			case e.Status == 422 && (e.Field == "product_id" || e.Field == "page" || e.Field == "count" || e.Field == "sort"):
			default:
				t.Fatalf("%q: error %+v", q, e)
			}
		}
		for _, path := range []string{"/reviews?", "/reviews/meta?"} {
			var c fasthttp.RequestCtx
			if !readRequest(t, &c, "GET "+path+q) {
				t.Fatalf("GET %s%s: unparsable, yet GET /reviews?%s parsed", path, q, q)
			}
			h(&c)
			switch s := c.Response.StatusCode(); {
			case s == 200:
				if !json.Valid(c.Response.Body()) {
					t.Fatalf("GET %s%s: 200 with %q", path, q, c.Response.Body())
				}
			case s == 400 || s == 422:
				errorShape(t, &c.Response)
			case s == 503:
				errorShape(t, &c.Response)
				if path == "/reviews?" && err != nil {
					t.Fatalf("GET %s%s: 503, yet the parameters are invalid (%v)", path, q, err)
				}
			default:
				t.Fatalf("GET %s%s: status %d %q", path, q, s, c.Response.Body())
			}
		}
	})
}

// FuzzReviewRoute: a review id in the path of the PUT routes (any bytes,
// any method) is either an id of ids.Parse, which reaches the database
// (503 here), or answered 404, 405 or 422 naming review_id; never another
// 5xx. Whatever the path normalises to, every error is the JSON shape.
func FuzzReviewRoute(f *testing.F) {
	for _, s := range [][2]string{
		{"PUT", "12"}, {"PUT", "007"}, {"PUT", "0"}, {"PUT", "-1"}, {"PUT", "2147483648"}, {"PUT", "1.5"},
		{"PUT", "%31%32"}, {"PUT", "1%2F2"}, {"PUT", ""}, {"PUT", ".."}, {"GET", "12"}, {"POST", "12"},
		{"DELETE", "12"}, {"OPTIONS", "12"}, {"PUT", "12/helpful"}, {"PUT", "x?y=1"}, {"PUT", "%00"}, {"HEAD", "1"},
	} {
		f.Add(s[0], s[1], s[1] == "12")
	}
	h := fuzzRouter(f)
	f.Fuzz(func(t *testing.T, method, segment string, report bool) {
		action := "helpful"
		if report {
			action = "report"
		}
		var c fasthttp.RequestCtx
		if !readRequest(t, &c, method+" /reviews/"+segment+"/"+action) {
			return
		}
		h(&c)
		// The router matches the path as sent (PathOriginal): "%31" is not
		// a digit to it. The read routes' fast path and /readyz go by the
		// decoded path.
		path, decoded := string(c.Request.URI().PathOriginal()), string(c.Path())
		idSeg, prefixed := strings.CutPrefix(path, "/reviews/")
		idSeg, suffixed := strings.CutSuffix(idSeg, "/"+action)
		onRoute := prefixed && suffixed && !strings.Contains(idSeg, "/") && idSeg != ""
		_, idErr := ids.Parse([]byte(idSeg))
		s := c.Response.StatusCode()
		switch {
		case s >= 500 && s != 503:
			t.Fatalf("%s %s: status %d %q", method, c.Request.URI(), s, c.Response.Body())
		case s == 503 && !(method == "PUT" && onRoute && idErr == nil) && decoded != "/readyz" && path != "/readyz":
			t.Fatalf("%s %s (path %s): 503 from an input that should not reach the database", method, c.Request.URI(), path)
		case s == 422 && method == "PUT" && onRoute:
			if f := errorShape(t, &c.Response); f != "review_id" || idErr == nil {
				t.Fatalf("%s %s: 422 field %q for id %q (%v)", method, c.Request.URI(), f, idSeg, idErr)
			}
		case s >= 400:
			errorShape(t, &c.Response)
		}
		if method == "PUT" && onRoute && idErr == nil && s != 503 {
			t.Fatalf("PUT %s: a valid id answered %d, not sent to the database", path, s)
		}
	})
}

// FuzzNewReview: a POST /reviews body is either refused with a 400 (not
// UTF-8, not JSON, not an object) or a 422 naming a field of API.md's
// table, or accepted with every value within its documented range; an
// accepted review, encoded again as JSON, parses to the same review.
func FuzzNewReview(f *testing.F) {
	valid := `{"product_id":1,"rating":4,"summary":"Good","body":"` + strings.Repeat("b", 50) +
		`","recommend":true,"name":"jo","email":"jo@example.com","photos":["https://img.example.com/1.jpg"],"characteristics":{"1":5,"2":"3"}}`
	for _, b := range []string{
		valid, `{}`, `[]`, `null`, `{"product_id":"1"}`, `{"a":1,}`, "\xff",
		strings.Replace(valid, `"jo"`, `"j\ud800"`, 1), strings.Replace(valid, `"jo"`, `"\ud83d\ude00"`, 1),
		strings.Replace(valid, `"Good"`, `"\u0000"`, 1), strings.Replace(valid, `"rating":4`, `"rating":4.0`, 1),
		strings.Replace(valid, `{"1":5,"2":"3"}`, `{"01":5,"1":3}`, 1), strings.Replace(valid, `"photos":[`, `"photos":null,"x":[`, 1),
	} {
		f.Add([]byte(b))
	}
	fields := map[string]bool{"product_id": true, "rating": true, "summary": true, "body": true, "recommend": true,
		"name": true, "email": true, "photos": true, "characteristics": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseNewReview(body)
		if err != nil {
			e, ok := err.(*Error)
			switch {
			case !ok:
				t.Fatalf("%q: error %T %v is not an *Error", body, err, err)
			case e.Status == 400 && e.Field == "":
			case e.Status == 422 && fields[e.Field]:
			default:
				t.Fatalf("%q: error %+v", body, e)
			}
			return
		}
		checkReview(t, body, r)
		again, err := json.Marshal(map[string]any{
			"product_id": r.ProductID, "rating": r.Rating, "summary": r.Summary, "body": r.Body,
			"recommend": r.Recommend, "name": r.Name, "email": r.Email, "photos": r.Photos,
			"characteristics": charsMap(r),
		})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := parseNewReview(again)
		if err != nil || !reflect.DeepEqual(normalise(r), normalise(r2)) {
			t.Fatalf("%q accepted as %+v, but encoded again %s parses to %+v, %v", body, r, again, r2, err)
		}
	})
}

func checkReview(t *testing.T, body []byte, r *queries.NewReview) {
	t.Helper()
	runes := utf8.RuneCountInString
	text := func(name, s string, lo, hi int) {
		if n := runes(s); n < lo || n > hi || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("%q: accepted %s %q (%d characters; want %d–%d, UTF-8, no NUL)", body, name, s, n, lo, hi)
		}
	}
	if r.ProductID < 1 || r.Rating < 1 || r.Rating > 5 {
		t.Fatalf("%q: accepted product %d rating %d", body, r.ProductID, r.Rating)
	}
	text("summary", r.Summary, 0, maxSummaryChars)
	text("body", r.Body, minBodyChars, maxBodyChars)
	text("name", r.Name, 1, maxNameChars)
	text("email", r.Email, minEmailChars, maxEmailChars)
	if at := strings.IndexByte(r.Email, '@'); at <= 0 || at == len(r.Email)-1 || strings.Count(r.Email, "@") != 1 {
		t.Fatalf("%q: accepted email %q", body, r.Email)
	}
	if len(r.Photos) > maxPhotos {
		t.Fatalf("%q: accepted %d photos", body, len(r.Photos))
	}
	for _, p := range r.Photos {
		if !isPhotoURL(p) || !utf8.ValidString(p) {
			t.Fatalf("%q: accepted photo %q", body, p)
		}
	}
	// An empty object parses: whether the ids are exactly the product's
	// (none is never right) is the statement's to say, with a 422.
	if len(r.CharacteristicIDs) != len(r.Values) {
		t.Fatalf("%q: accepted characteristics %v %v", body, r.CharacteristicIDs, r.Values)
	}
	for i, id := range r.CharacteristicIDs {
		if id < 1 || (i > 0 && r.CharacteristicIDs[i-1] >= id) || r.Values[i] < 1 || r.Values[i] > 5 {
			t.Fatalf("%q: accepted characteristics %v %v (want ids ascending, values 1–5)", body, r.CharacteristicIDs, r.Values)
		}
	}
}

func charsMap(r *queries.NewReview) map[string]int16 {
	m := make(map[string]int16, len(r.CharacteristicIDs))
	for i, id := range r.CharacteristicIDs {
		m[strconv.Itoa(int(id))] = r.Values[i]
	}
	return m
}

// normalise: no photos and an empty list are the same review.
func normalise(r *queries.NewReview) queries.NewReview {
	c := *r
	if len(c.Photos) == 0 {
		c.Photos = nil
	}
	return c
}
