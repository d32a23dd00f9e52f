package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/catwalk/reviews/testdb"
)

// apiFixture is one product with two reviews, two characteristics and the
// read model (photos, product_meta, value sums) consistent with them.
const apiFixture = `
INSERT INTO reviews (id, product_id, rating, date, summary, body, recommend, reported, reviewer_name, reviewer_email, response, helpfulness, photos)
OVERRIDING SYSTEM VALUE VALUES
 (9001, 4242, 5, '2021-01-01T00:00:00.123Z', 'Great fit', 'b1', true,  false, 'jo',  'jo@example.com',  NULL,     3, '[{"id":9001,"url":"https://example.com/a.jpg"}]'),
 (9002, 4242, 3, '2022-01-01T00:00:00Z',     'Meh',       'b2', false, false, 'sam', 'sam@example.com', 'thanks', 0, '[]');
INSERT INTO reviews_photos (id, review_id, url) OVERRIDING SYSTEM VALUE VALUES (9001, 9001, 'https://example.com/a.jpg');
INSERT INTO characteristics (id, product_id, name, value_sum, value_count) OVERRIDING SYSTEM VALUE VALUES
 (9001, 4242, 'Fit', 6, 2), (9002, 4242, 'Length', 5, 2);
INSERT INTO characteristic_reviews (id, characteristic_id, review_id, value) OVERRIDING SYSTEM VALUE VALUES
 (9001, 9001, 9001, 4), (9002, 9002, 9001, 3), (9003, 9001, 9002, 2), (9004, 9002, 9002, 2);
INSERT INTO product_meta (product_id, rating_3, rating_5, recommend_false, recommend_true) VALUES (4242, 1, 1, 1, 1);
`

func loadAPIFixture(t *testing.T) {
	t.Helper()
	pool := testdb.Pool(t)
	if _, err := pool.Exec(context.Background(), apiFixture); err != nil {
		t.Fatalf("fixture: %v", err)
	}
}

// jsonEqual compares two JSON documents by value (key order aside).
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("response is not JSON: %q", got)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// TestNginxAPI: all five endpoints of API.md through NGINX in front of
// three instances, each request landing on whichever instance NGINX picks.
func TestNginxAPI(t *testing.T) {
	loadAPIFixture(t)
	c := startCluster(t)
	url := c.Nginx.URL
	const jsonType = "application/json; charset=utf-8"

	check := func(method, path, body string, wantStatus int, wantBody string, header ...string) response {
		t.Helper()
		h := append([]string{"Content-Type", "application/json"}, header...)
		r := do(t, method, url(path), body, h...)
		if r.Status != wantStatus {
			t.Errorf("%s %s: status %d, want %d (body %q)", method, path, r.Status, wantStatus, r.Body)
			return r
		}
		if wantStatus == 204 {
			if r.Body != "" {
				t.Errorf("%s %s: 204 with body %q", method, path, r.Body)
			}
			return r
		}
		if ct := r.Header.Get("Content-Type"); ct != jsonType {
			t.Errorf("%s %s: Content-Type %q, want %q", method, path, ct, jsonType)
		}
		if wantBody != "" && !jsonEqual(t, r.Body, wantBody) {
			t.Errorf("%s %s:\n got %s\nwant %s", method, path, r.Body, wantBody)
		}
		return r
	}

	const r9001 = `{"review_id":9001,"rating":5,"summary":"Great fit","recommend":true,"response":null,"body":"b1","date":"2021-01-01T00:00:00.123Z","reviewer_name":"jo","helpfulness":3,"photos":[{"id":9001,"url":"https://example.com/a.jpg"}]}`
	const r9002 = `{"review_id":9002,"rating":3,"summary":"Meh","recommend":false,"response":"thanks","body":"b2","date":"2022-01-01T00:00:00.000Z","reviewer_name":"sam","helpfulness":0,"photos":[]}`

	// GET /reviews and GET /reviews/meta.
	check("GET", "/reviews?product_id=4242&sort=newest", "", 200, `{"product":"4242","page":0,"count":5,"results":[`+r9002+`,`+r9001+`]}`)
	check("GET", "/reviews/?product_id=04242&sort=helpful&count=1&page=2", "", 200, `{"product":"4242","page":1,"count":1,"results":[`+r9002+`]}`)
	check("GET", "/reviews?product_id=4243", "", 200, `{"product":"4243","page":0,"count":5,"results":[]}`)
	check("GET", "/reviews", "", 422, "")
	check("GET", "/reviews?product_id=4242&sort=best", "", 422, "")
	check("GET", "/reviews/meta?product_id=4242", "", 200,
		`{"product_id":"4242","ratings":{"3":"1","5":"1"},"recommended":{"false":"1","true":"1"},"characteristics":{"Fit":{"id":9001,"value":"3.0000000000000000"},"Length":{"id":9002,"value":"2.5000000000000000"}}}`)
	check("GET", "/reviews/meta?product_id=4243", "", 200, `{"product_id":"4243","ratings":{},"recommended":{},"characteristics":{}}`)
	if r := check("DELETE", "/reviews", "", 405, ""); r.Header.Get("Allow") == "" {
		t.Errorf("405 without an Allow header")
	}

	// POST /reviews, then the new review is listed through NGINX.
	post := `{"product_id":4242,"rating":4,"summary":"New","body":"` + strings.Repeat("x", 50) + `","recommend":true,"name":"kim","email":"kim@example.com","photos":["https://example.com/b.jpg"],"characteristics":{"9001":4,"9002":5}}`
	r := check("POST", "/reviews", post, 201, "")
	var created struct {
		ReviewID int `json:"review_id"`
	}
	if err := json.Unmarshal([]byte(r.Body), &created); err != nil || created.ReviewID == 0 {
		t.Fatalf("POST /reviews: body %q: want {\"review_id\":n}", r.Body)
	}
	check("POST", "/reviews", post, 415, "", "Content-Type", "text/plain")
	check("POST", "/reviews", `{"product_id":`, 400, "")
	check("POST", "/reviews", `{"product_id":4242}`, 422, "")

	// eventually polls GET path until the body contains want (instances
	// other than the writer learn of a write within a second).
	eventually := func(path, want string, present bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			body := do(t, "GET", url(path), "").Body
			if strings.Contains(body, want) == present {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("GET %s: after 2s, contains %q = %v, want %v; body %s", path, want, !present, present, body)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	id := fmt.Sprint(created.ReviewID)
	for range 3 { // every instance, whichever NGINX picks
		eventually("/reviews?product_id=4242&sort=newest&count=1", `"review_id":`+id, true)
	}

	// PUT helpful and report.
	check("PUT", "/reviews/"+id+"/helpful", "", 204, "")
	eventually("/reviews?product_id=4242&sort=newest&count=1", `"helpfulness":1`, true)
	check("PUT", "/reviews/abc/helpful", "", 422, "")
	check("PUT", "/reviews/2147483000/helpful", "", 404, "")
	check("PUT", "/reviews/"+id+"/report", "", 204, "")
	check("PUT", "/reviews/"+id+"/report", "", 204, "")
	for range 3 {
		eventually("/reviews?product_id=4242&sort=newest", `"review_id":`+id, false)
	}
	eventually("/reviews/meta?product_id=4242", `"4":"1"`, false)
	check("PUT", "/reviews/2147483000/report", "", 404, "")
}
