package handlers

import (
	"errors"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/queries"
)

// Parsing and rendering without a store: these run in make test-pure, so a
// rule of API.md's query string or JSON shape is checked in milliseconds,
// with no PostgreSQL. TestReadContract checks the same rules end to end.

func listParamsOf(t *testing.T, uri string) (listParams, error) {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	return parseListParams(&ctx)
}

func TestParseListParamsSuccess(t *testing.T) {
	f := func(uri string, want listParams) {
		t.Helper()
		got, err := listParamsOf(t, uri)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", uri, got, err, want)
		}
	}
	f("/reviews?product_id=7", listParams{product: 7, page: 1, count: 5, sort: queries.SortRelevant})
	f("/reviews?product_id=0007&page=02&count=3&sort=newest", listParams{product: 7, page: 2, count: 3, sort: queries.SortNewest})
	f("/reviews?product_id=1&sort=helpful", listParams{product: 1, page: 1, count: 5, sort: queries.SortHelpful})
	// The first occurrence counts; an empty value is absent.
	f("/reviews?product_id=2&product_id=1&sort=helpful&sort=bogus", listParams{product: 2, page: 1, count: 5, sort: queries.SortHelpful})
	f("/reviews?product_id=1&page=&count=&sort=", listParams{product: 1, page: 1, count: 5, sort: queries.SortRelevant})
	f("/reviews?product%5Fid=%31&sort=%6eewest", listParams{product: 1, page: 1, count: 5, sort: queries.SortNewest})
	f("/reviews?product_id=2147483647&count=2147483647", listParams{product: 2147483647, page: 1, count: 2147483647, sort: queries.SortRelevant})
}

func TestParseListParamsFailure(t *testing.T) {
	f := func(uri string, status int, field string) {
		t.Helper()
		_, err := listParamsOf(t, uri)
		var e *Error
		if !errors.As(err, &e) || e.Status != status || e.Field != field {
			t.Errorf("%s: error %#v, want status %d on field %q", uri, err, status, field)
		}
	}
	f("/reviews", 422, "product_id")
	f("/reviews?product_id=", 422, "product_id")
	f("/reviews?product_id=0", 422, "product_id")
	f("/reviews?product_id=-1", 422, "product_id")
	f("/reviews?product_id=2147483648", 422, "product_id")
	f("/reviews?product_id=1x", 422, "product_id")
	f("/reviews?product_id=1&page=0", 422, "page")
	f("/reviews?product_id=1&page=1.5", 422, "page")
	f("/reviews?product_id=1&count=-5", 422, "count")
	f("/reviews?product_id=1&sort=oldest", 422, "sort")
	f("/reviews?product_id=1&sort=Newest", 422, "sort")
	f("/reviews?product_id=1&sort=%zz", 400, "")
	f("/reviews?product_id=1%2", 400, "")
}

// A review renders with API.md's fields in order, its strings escaped as
// JSON.stringify does (no HTML escaping), its date in UTC milliseconds, a
// missing response as null and no photos as [].
func TestAppendReview(t *testing.T) {
	r := queries.Review{
		ID: 12, Rating: 4, Summary: []byte(`"<b>great</b>"`), Recommend: true,
		Body: []byte("line\nnext \u2028 é"), Date: time.Date(2021, 3, 4, 5, 6, 7, 891e6, time.FixedZone("x", 3600)),
		ReviewerName: []byte("ann"), Helpfulness: 3,
	}
	got := string(appendReview(nil, &r))
	want := `{"review_id":12,"rating":4,"summary":"\"<b>great</b>\"","recommend":true,"response":null,` +
		`"body":"line\nnext ` + "\u2028" + ` é","date":"2021-03-04T04:06:07.891Z","reviewer_name":"ann","helpfulness":3,"photos":[]}`
	if got != want {
		t.Errorf("review\n got %s\nwant %s", got, want)
	}
	r.Response, r.Photos = []byte(""), []byte(`[{"id":1,"url":"u"}]`)
	got = string(appendReview(nil, &r))
	want = `{"review_id":12,"rating":4,"summary":"\"<b>great</b>\"","recommend":true,"response":"",` +
		`"body":"line\nnext ` + "\u2028" + ` é","date":"2021-03-04T04:06:07.891Z","reviewer_name":"ann","helpfulness":3,"photos":[{"id":1,"url":"u"}]}`
	if got != want {
		t.Errorf("review with response and photos\n got %s\nwant %s", got, want)
	}
}

// Meta renders counts as strings, leaves out zero counts, shows a
// characteristic without ratings as null and, of two with one name, the
// lower id.
func TestAppendMeta(t *testing.T) {
	m := queries.Meta{
		Ratings:     [5]int32{0, 2, 0, 0, 1},
		Recommended: [2]int32{0, 3},
		Characteristics: []queries.Characteristic{
			{ID: 5, Name: "Fit", Sum: 7, Count: 2},
			{ID: 6, Name: "Length"},
			{ID: 9, Name: "Fit", Sum: 1, Count: 1},
		},
	}
	got := string(appendMeta(nil, 40, &m))
	want := `{"product_id":"40","ratings":{"2":"2","5":"1"},"recommended":{"true":"3"},` +
		`"characteristics":{"Fit":{"id":5,"value":"3.5000000000000000"},"Length":{"id":6,"value":null}}}`
	if got != want {
		t.Errorf("meta\n got %s\nwant %s", got, want)
	}
	if got := string(appendMeta(nil, 3, &queries.Meta{})); got != `{"product_id":"3","ratings":{},"recommended":{},"characteristics":{}}` {
		t.Errorf("empty meta: %s", got)
	}
}
