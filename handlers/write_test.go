package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/catwalk/reviews/cache"
)

// storedReview is a review row as POST wrote it.
type storedReview struct {
	ProductID           int32
	Rating              int16
	Summary, Body       string
	Recommend, Reported bool
	Name, Email         string
	Response            *string
	Helpfulness         int32
	Date                time.Time
	ScoreMatches        bool
	Photos              string
}

func mustReview(tb testing.TB, s *testServer, id int64) storedReview {
	tb.Helper()
	var r storedReview
	err := s.pool.QueryRow(context.Background(), `SELECT product_id, rating, summary, body, recommend, reported,
		reviewer_name, reviewer_email, response, helpfulness, date, score = review_score(helpfulness, date), photos::text
		FROM reviews WHERE id = $1`, id).Scan(&r.ProductID, &r.Rating, &r.Summary, &r.Body, &r.Recommend, &r.Reported,
		&r.Name, &r.Email, &r.Response, &r.Helpfulness, &r.Date, &r.ScoreMatches, &r.Photos)
	if err != nil {
		tb.Fatalf("review %d: %v", id, err)
	}
	return r
}

// createdID checks a 201 and returns the new review's id.
func createdID(tb testing.TB, r response) int64 {
	tb.Helper()
	if r.status != 201 {
		tb.Fatalf("status %d, body %s; want 201", r.status, r.body)
	}
	var got struct {
		ReviewID int64 `json:"review_id"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.ReviewID < 1 {
		tb.Fatalf("body %s: want {\"review_id\":N}", r.body)
	}
	if want := fmt.Sprintf(`{"review_id":%d}`, got.ReviewID); r.body != want {
		tb.Fatalf("body %s, want %s", r.body, want)
	}
	if ct := r.contentType; ct != "application/json; charset=utf-8" {
		tb.Fatalf("Content-Type %q", ct)
	}
	return got.ReviewID
}

func TestPostReviewSuccess(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)

	t.Run("StoresEverything", func(t *testing.T) {
		p := mustProduct(t, pool, 3)
		before := time.Now().Add(-time.Second)
		body := fmt.Sprintf(`{"product_id":%d,"rating":2,"summary":"Small","body":%q,"recommend":false,
			"name":"ann","email":"ann@example.com",
			"photos":["https://a.example/1.jpg","http://b.example/x?q=\"é\"&y=<1>"],
			"characteristics":{"%d":1,"%d":5,"%d":"3"}}`, p.id, validBody, p.chars[2], p.chars[0], p.chars[1])
		id := createdID(t, s.post(t, body))
		r := mustReview(t, s, id)
		if r.ProductID != p.id || r.Rating != 2 || r.Summary != "Small" || r.Body != validBody || r.Recommend ||
			r.Reported || r.Name != "ann" || r.Email != "ann@example.com" || r.Response != nil || r.Helpfulness != 0 {
			t.Fatalf("stored %+v", r)
		}
		if !r.ScoreMatches {
			t.Fatal("score differs from review_score(helpfulness, date)")
		}
		if r.Date.Before(before) || r.Date.After(time.Now().Add(time.Second)) || r.Date.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("date %v: want now, whole milliseconds", r.Date)
		}
		var ids []int64
		var urls []string
		rows, _ := pool.Query(context.Background(), "SELECT id, url FROM reviews_photos WHERE review_id = $1 ORDER BY id", id)
		for rows.Next() {
			var pid int64
			var u string
			if err := rows.Scan(&pid, &u); err != nil {
				t.Fatal(err)
			}
			ids, urls = append(ids, pid), append(urls, u)
		}
		if rows.Err() != nil || len(ids) != 2 || urls[0] != "https://a.example/1.jpg" || urls[1] != `http://b.example/x?q="é"&y=<1>` {
			t.Fatalf("photos %v %v %v: want both, in request order", ids, urls, rows.Err())
		}
		// The read model holds the API's bytes, escaped like to_json.
		want := fmt.Sprintf(`[{"id":%d,"url":"https://a.example/1.jpg"},{"id":%d,"url":"http://b.example/x?q=\"é\"&y=<1>"}]`, ids[0], ids[1])
		if r.Photos != want {
			t.Fatalf("photos column\n got %s\nwant %s", r.Photos, want)
		}
		var etl string
		if err := pool.QueryRow(context.Background(), `SELECT '[' || string_agg(json_build_object('id', id, 'url', url)::text, ',' ORDER BY id) || ']'
			FROM reviews_photos WHERE review_id = $1`, id).Scan(&etl); err != nil {
			t.Fatal(err)
		}
		var a, b any
		json.Unmarshal([]byte(etl), &a)
		json.Unmarshal([]byte(r.Photos), &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("photos column %s disagrees with reviews_photos %s", r.Photos, etl)
		}
		var values string
		if err := pool.QueryRow(context.Background(), `SELECT string_agg(characteristic_id || '=' || value, ',' ORDER BY characteristic_id)
			FROM characteristic_reviews WHERE review_id = $1`, id).Scan(&values); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d=5,%d=3,%d=1", p.chars[0], p.chars[1], p.chars[2]); values != want {
			t.Fatalf("characteristic values %s, want %s", values, want)
		}
		m := mustAggregates(t, pool, p)
		if m.Ratings != [5]int32{0, 1, 0, 0, 0} || m.RecFalse != 1 || m.RecTrue != 0 {
			t.Fatalf("product_meta %+v", m)
		}
		if fmt.Sprint(m.Sums, m.Counts) != "[5 3 1] [1 1 1]" {
			t.Fatalf("characteristic sums %v counts %v", m.Sums, m.Counts)
		}
		// A second review adds to the same aggregates.
		createdID(t, s.post(t, p.reviewJSON()))
		m = mustAggregates(t, pool, p)
		if m.Ratings != [5]int32{0, 1, 0, 1, 0} || m.RecFalse != 1 || m.RecTrue != 1 || fmt.Sprint(m.Sums, m.Counts) != "[8 6 4] [2 2 2]" {
			t.Fatalf("after a second review: %+v", m)
		}
	})

	// f posts a variant of a valid body and checks one stored column.
	f := func(name string, body func(p product) string, column, want string, contentType ...string) {
		t.Helper()
		p := mustProduct(t, pool, 2)
		ct := "application/json"
		if len(contentType) > 0 {
			ct = contentType[0]
		}
		r := s.do(t, "POST", "/reviews", ct, body(p))
		id := createdID(t, r)
		var got string
		if err := pool.QueryRow(context.Background(), "SELECT "+column+"::text FROM reviews WHERE id = $1", id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: %s = %q, want %q", name, column, got, want)
		}
	}
	f("summary absent", func(p product) string {
		return strings.Replace(p.reviewJSON(), `"summary":"Good",`, "", 1)
	}, "summary", "")
	f("summary null", func(p product) string { return p.reviewJSON(`"summary":null`) }, "summary", "")
	f("summary of 60 characters", func(p product) string {
		return p.reviewJSON(`"summary":"` + strings.Repeat("é", 60) + `"`)
	}, "summary", strings.Repeat("é", 60))
	f("photos absent", func(p product) string {
		return strings.Replace(p.reviewJSON(), `"photos":["https://img.example.com/1.jpg"],`, "", 1)
	}, "photos", "[]")
	f("photos null", func(p product) string { return p.reviewJSON(`"photos":null`) }, "photos", "[]")
	f("photos empty", func(p product) string { return p.reviewJSON(`"photos":[]`) }, "photos", "[]")
	f("integers as strings", func(p product) string {
		return p.reviewJSON(fmt.Sprintf(`"product_id":"%d"`, p.id), `"rating":"5"`)
	}, "rating", "5")
	f("duplicated key: the last counts", func(p product) string {
		return p.reviewJSON(`"rating":1`, `"rating":3`)
	}, "rating", "3")
	f("unknown fields are ignored", func(p product) string {
		return p.reviewJSON(`"reported":true`, `"helpfulness":99`, `"extra":{"a":[1,2]}`)
	}, "reported::text || helpfulness", "false0")
	f("body of exactly 50 characters (code points)", func(p product) string {
		return p.reviewJSON(`"body":"` + strings.Repeat("ü", 50) + `"`)
	}, "body", strings.Repeat("ü", 50))
	f("body of 1000 characters", func(p product) string {
		return p.reviewJSON(`"body":"` + strings.Repeat("b", 1000) + `"`)
	}, "length(body)", "1000")
	f("escaped characters decode", func(p product) string {
		return p.reviewJSON(`"name":"J\u00f6 \"Q\""`)
	}, "reviewer_name", `Jö "Q"`)
	f("name of 60 characters", func(p product) string {
		return p.reviewJSON(`"name":"` + strings.Repeat("n", 60) + `"`)
	}, "length(reviewer_name)", "60")
	f("email of 254 characters", func(p product) string {
		return p.reviewJSON(`"email":"` + strings.Repeat("e", 250) + `@e.x"`)
	}, "length(reviewer_email)", "254")
	f("shortest email", func(p product) string { return p.reviewJSON(`"email":"a@b"`) }, "reviewer_email", "a@b")
	f("five photos", func(p product) string {
		return p.reviewJSON(`"photos":["http://a/1","http://a/2","HTTPS://a/3","http://a/4","http://a/` + strings.Repeat("x", 2048-len("http://a/")) + `"]`)
	}, "json_array_length(photos)", "5")
	f("charset parameter", func(p product) string { return p.reviewJSON() }, "rating", "4", "Application/JSON; Charset=UTF-8")
	f("recommend false", func(p product) string { return p.reviewJSON(`"recommend":false`) }, "recommend", "false")
	f("characteristic ids with leading zeros", func(p product) string {
		return p.reviewJSON(fmt.Sprintf(`"characteristics":{"0%d":1,"%d":2}`, p.chars[0], p.chars[1]))
	}, "rating", "4")
	f("a surrogate pair decodes", func(p product) string {
		return p.reviewJSON(`"name":"a\ud83d\ude00b\\udc00"`)
	}, "reviewer_name", "a\U0001F600b\\udc00")
	f("whitespace around the object", func(p product) string { return " \n" + p.reviewJSON() + "\n " }, "rating", "4")
}

func TestPostReviewFailure(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 2)
	bare := mustProduct(t, pool, 0)

	f := func(contentType, body string, status int, field string) {
		t.Helper()
		before := mustWriteState(t, pool)
		r := s.do(t, "POST", "/reviews", contentType, body)
		if r.status != status {
			t.Errorf("%.120s: status %d (%s), want %d", body, r.status, r.body, status)
			return
		}
		var e struct {
			Error string  `json:"error"`
			Field *string `json:"field"`
		}
		if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" {
			t.Errorf("%.120s: body %q is not a JSON error", body, r.body)
			return
		}
		gotField := ""
		if e.Field != nil {
			gotField = *e.Field
		}
		if gotField != field {
			t.Errorf("%.120s: field %q (%s), want %q", body, gotField, e.Error, field)
		}
		if after := mustWriteState(t, pool); after != before {
			t.Errorf("%.120s: a rejected request wrote: %+v → %+v", body, before, after)
		}
	}
	const js = "application/json"
	ok := p.reviewJSON()

	// Not JSON at all.
	f("", ok, 415, "")
	f("text/plain", ok, 415, "")
	f("application/jsonx", ok, 415, "")
	f("application/json; charset=latin1", ok, 415, "")
	f(js, `{"product_id":`, 400, "")
	f(js, ``, 400, "")
	f(js, ok+"x", 400, "")
	f(js, ok+"{}", 400, "")
	f(js, `[`+ok+`]`, 400, "")
	f(js, `"text"`, 400, "")
	f(js, `null`, 400, "")
	f(js, `42`, 400, "")
	f(js, strings.Replace(ok, "Good", "Go\xffod", 1), 400, "")
	f(js, `{"a":1,}`, 400, "")
	f(js, strings.Replace(ok, "Good", "Go\x01od", 1), 400, "") // raw control character
	f(js, strings.Replace(ok, `"rating":4`, `"rating":04`, 1), 400, "")
	f(js, strings.Replace(ok, `"recommend":true`, `"recommend":tru`, 1), 400, "")
	f(js, "\xef\xbb\xbf"+ok, 400, "") // a byte order mark is not JSON

	before := mustWriteState(t, pool)
	big := `{"a":"` + strings.Repeat("x", testMaxBody) + `"}`
	r := s.raw(t, fmt.Sprintf("POST /reviews HTTP/1.1\r\nHost: catwalk\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(big), big))
	if r.status != 413 || !strings.Contains(r.body, `"error"`) || r.contentType != "application/json; charset=utf-8" {
		t.Errorf("body over the limit: %d %s", r.status, r.body)
	}
	if after := mustWriteState(t, pool); after != before {
		t.Errorf("a body over the limit wrote")
	}

	// Each field's rules.
	for _, c := range []struct{ field, value string }{
		{"product_id", `null`}, {"product_id", `0`}, {"product_id", `-1`}, {"product_id", `5.0`},
		{"product_id", `5e0`}, {"product_id", `"5.0"`}, {"product_id", `2147483648`}, {"product_id", `true`},
		{"product_id", `" 5"`}, {"product_id", `"0x5"`}, {"product_id", `[1]`},
		{"rating", `0`}, {"rating", `6`}, {"rating", `4.0`}, {"rating", `"4.5"`}, {"rating", `4e0`},
		{"rating", `null`}, {"rating", `"four"`}, {"rating", `true`}, {"rating", `""`},
		{"summary", `"` + strings.Repeat("s", 61) + `"`}, {"summary", `5`}, {"summary", `"a\u0000b"`},
		{"body", `"` + strings.Repeat("b", 49) + `"`}, {"body", `"` + strings.Repeat("b", 1001) + `"`},
		{"body", `null`}, {"body", `["` + validBody + `"]`}, {"body", `"` + strings.Repeat("b", 50) + `\u0000"`},
		{"recommend", `"true"`}, {"recommend", `1`}, {"recommend", `null`}, {"recommend", `"yes"`},
		{"name", `""`}, {"name", `"` + strings.Repeat("n", 61) + `"`}, {"name", `null`}, {"name", `7`},
		{"email", `"ab"`}, {"email", `"a@b@c"`}, {"email", `"@ab"`}, {"email", `"ab@"`}, {"email", `"abc"`},
		{"email", `"` + strings.Repeat("e", 251) + `@e.x"`}, {"email", `null`},
		{"photos", `"http://a/1"`}, {"photos", `["http://a/1","http://a/2","http://a/3","http://a/4","http://a/5","http://a/6"]`},
		{"photos", `["ftp://a/1"]`}, {"photos", `["/relative.jpg"]`}, {"photos", `["http:///nohost"]`},
		{"photos", `["mailto:a@b.c"]`}, {"photos", `[null]`}, {"photos", `[1]`}, {"photos", `["not a url"]`},
		{"photos", `["http://a/` + strings.Repeat("x", 2049-len("http://a/")) + `"]`}, {"photos", `{}`},
		{"characteristics", `null`}, {"characteristics", `{}`}, {"characteristics", `[]`},
		{"characteristics", fmt.Sprintf(`{"%d":3}`, p.chars[0])},
		{"characteristics", fmt.Sprintf(`{"%d":3,"%d":3,"%d":3}`, p.chars[0], p.chars[1], p.chars[1]+1000)},
		{"characteristics", fmt.Sprintf(`{"%d":3,"%d":0}`, p.chars[0], p.chars[1])},
		{"characteristics", fmt.Sprintf(`{"%d":3,"%d":6}`, p.chars[0], p.chars[1])},
		{"characteristics", fmt.Sprintf(`{"%d":3,"%d":2.0}`, p.chars[0], p.chars[1])},
		{"characteristics", fmt.Sprintf(`{"%d":3,"%d":null}`, p.chars[0], p.chars[1])},
		{"characteristics", fmt.Sprintf(`{"%d":3,"x":3}`, p.chars[0])},
		{"characteristics", fmt.Sprintf(`{"%d":3,"0%d":3}`, p.chars[0], p.chars[0])},
		{"characteristics", fmt.Sprintf(`{"%d":3,"%d":3}`, p.chars[0], p.chars[1]+1000)},
	} {
		f(js, p.reviewJSON(`"`+c.field+`":`+c.value), 422, c.field)
	}
	// Unpaired UTF-16 surrogates would be stored as U+FFFD: refused in
	// every string field, named.
	for _, field := range []string{"summary", "body", "name", "email", "photos"} {
		for _, bad := range []string{`\ud800`, `\udc00`, `\uDBFF\u0041`, `\ud800\ud800`, `\ud800\n`, `\udfff\ud800`} {
			var v string
			switch field {
			case "body":
				v = `"` + strings.Repeat("b", 50) + bad + `"`
			case "email":
				v = `"a` + bad + `@b.c"`
			case "photos":
				v = `["http://a/1","http://a/` + bad + `"]`
			default:
				v = `"x` + bad + `"`
			}
			f(js, p.reviewJSON(`"`+field+`":`+v), 422, field)
		}
	}
	f(js, strings.Replace(ok, `"characteristics":`, `"other":`, 1), 422, "characteristics")
	f(js, strings.Replace(ok, `"name":"jo",`, "", 1), 422, "name")
	f(js, strings.Replace(ok, `"body":`, `"Body":`, 1), 422, "body")
	// A product that does not exist, and one without characteristics.
	f(js, p.reviewJSON(`"product_id":2147483000`), 422, "product_id")
	f(js, p.reviewJSON(fmt.Sprintf(`"product_id":%d`, bare.id), `"characteristics":{}`), 422, "product_id")
	f(js, p.reviewJSON(fmt.Sprintf(`"product_id":%d`, bare.id)), 422, "product_id")
	// Characteristics of another product.
	other := mustProduct(t, pool, 2)
	f(js, p.reviewJSON(`"characteristics":`+other.charsJSON(3)), 422, "characteristics")
	// The first broken field in API.md's order is the one named.
	f(js, p.reviewJSON(`"rating":9`, `"email":"x"`), 422, "rating")
	// Idempotency-Key over 255 characters.
	before = mustWriteState(t, pool)
	if r := s.post(t, ok, "Idempotency-Key", strings.Repeat("k", 256)); r.status != 422 || !strings.Contains(r.body, `"field":"Idempotency-Key"`) {
		t.Errorf("256-character key: %d %s", r.status, r.body)
	}
	if after := mustWriteState(t, pool); after != before {
		t.Errorf("a rejected key wrote")
	}
}

func TestPostReviewEvictsTheProduct(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 1)
	other := mustProduct(t, pool, 1)
	keys := prefill(t, s.cache, p.id, other.id)
	createdID(t, s.post(t, p.reviewJSON()))
	if _, ok := s.cache.Get(keys[0]); ok {
		t.Fatal("the product's cached response survived its POST")
	}
	if _, ok := s.cache.Get(keys[1]); !ok {
		t.Fatal("another product's cached response was dropped")
	}
}

// prefill caches a dummy meta response for each product and returns the keys.
func prefill(tb testing.TB, c *cache.Cache, products ...int32) []cache.Key {
	tb.Helper()
	var keys []cache.Key
	for _, id := range products {
		k := cache.Key{Kind: cache.KindMeta, Product: uint32(id)}
		if _, err := c.Fetch(k, func() ([]byte, error) { return []byte("cached"), nil }); err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, k)
	}
	c.Wait()
	for _, k := range keys {
		if _, ok := c.Get(k); !ok {
			tb.Fatalf("prefilled %+v is not cached", k)
		}
	}
	return keys
}

// TestPostReviewDuplicateNames: of two characteristics with one name, meta
// shows the lower id, so that is the one a frontend can rate — and must.
func TestPostReviewDuplicateNames(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 7) // names repeat after six: the 7th is a second "Fit"
	shown, hidden := p.chars[:6], p.chars[6]
	rate := func(ids ...int32) string {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = fmt.Sprintf(`"%d":4`, id)
		}
		return p.reviewJSON(`"characteristics":{` + strings.Join(parts, ",") + `}`)
	}
	if r := s.post(t, rate(append(append([]int32{}, shown...), hidden)...)); r.status != 422 || !strings.Contains(r.body, `"field":"characteristics"`) {
		t.Errorf("rating the hidden duplicate too: %d %s, want 422 characteristics", r.status, r.body)
	}
	if r := s.post(t, rate(append(append([]int32{}, shown[1:]...), hidden)...)); r.status != 422 {
		t.Errorf("rating the hidden duplicate instead of the shown one: %d %s, want 422", r.status, r.body)
	}
	if r := s.post(t, rate(shown...)); r.status != 201 {
		t.Fatalf("rating what meta shows: %d %s, want 201", r.status, r.body)
	}
	var count int
	if err := pool.QueryRow(t.Context(), "SELECT value_count FROM characteristics WHERE id = $1", hidden).Scan(&count); err != nil || count != 0 {
		t.Errorf("hidden duplicate value_count = %d (%v), want 0", count, err)
	}
}
