package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// target sends the requests of the operations in scenarios.json to one
// service, as k6/lib.js does.
type target struct {
	client   *fasthttp.HostClient
	base     string // scheme://host:port/prefix, no trailing slash
	products int
	timeout  time.Duration
	sample   sample
	rec      *recorder // -record: sends and records every request (record.go)

	// hotSize products 1, 1+hotStride, … get hotShare of the product
	// choices (Scenario.Hot); hotSize 0: uniform.
	hotSize, hotStride int
	hotShare           float64
}

// setHot makes productID follow h (nil: uniform over all products).
func (t *target) setHot(h *Hot) {
	if h == nil {
		t.hotSize = 0
		return
	}
	t.hotSize, t.hotStride = h.hotSet(t.products)
	t.hotShare = h.Traffic
}

// productID draws the product of one request, as k6/lib.js's productId:
// from the hot set with probability hotShare, else uniform over 1..products.
func (t *target) productID() int {
	if t.hotSize > 0 && rand.Float64() < t.hotShare {
		return 1 + rand.IntN(t.hotSize)*t.hotStride
	}
	return 1 + rand.IntN(t.products)
}

// sample is what setup learnt for the write operations.
type sample struct {
	products []product
	reviews  []int
}

type product struct {
	id              int
	characteristics []int
}

var sorts = [...]string{"newest", "helpful", "relevant"}

// wantStatus is the status each operation answers on success (API.md).
var wantStatus = map[string]int{"list": 200, "meta": 200, "post": 201, "helpful": 204, "report": 204}

const reviewBodyText = "Written by the load test: the fabric held up well and the fit was as described on the product page."

func newTarget(u *url.URL, products, conns int, timeout time.Duration, dial fasthttp.DialFunc) *target {
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return &target{
		client: &fasthttp.HostClient{
			Addr:                          addr,
			IsTLS:                         u.Scheme == "https",
			Dial:                          dial,
			MaxConns:                      conns,
			ReadTimeout:                   timeout,
			WriteTimeout:                  timeout,
			MaxIdleConnDuration:           time.Minute,
			DisableHeaderNamesNormalizing: true,
			DisablePathNormalizing:        true,
		},
		base:     strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"),
		products: products,
		timeout:  timeout,
	}
}

// do sends one request of op and returns its status and whether a read's
// good answer was empty; err is a transport error (no status).
func (t *target) do(op string) (int, bool, error) {
	if t.rec != nil {
		return t.rec.do(t, op)
	}
	var empty bool
	status, err := t.send(func(req *fasthttp.Request) error { return t.build(req, op) }, emptyReader(op, &empty))
	return status, empty, err
}

// emptyReader returns, for a read op, the body reader that sets *empty when
// a 200 holds no data (API.md: a product without reviews lists
// "results":[] and has "ratings":{}); nil for writes.
func emptyReader(op string, empty *bool) func(int, []byte) error {
	var marker []byte
	switch op {
	case "list":
		marker = emptyList
	case "meta":
		marker = emptyMeta
	default:
		return nil
	}
	return func(status int, body []byte) error {
		*empty = status == fasthttp.StatusOK && bytes.Contains(body, marker)
		return nil
	}
}

var (
	emptyList = []byte(`"results":[]`)
	emptyMeta = []byte(`"ratings":{}`)
)

// post sends POST /reviews for p and returns the status.
func (t *target) post(p product) (int, error) {
	return t.send(func(req *fasthttp.Request) error { return t.buildPost(req, p) }, nil)
}

// send builds one request, sends it and returns the answer's status;
// read, when set, is given the answer's body (valid during the call only).
func (t *target) send(build func(*fasthttp.Request) error, read func(status int, body []byte) error) (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	if err := build(req); err != nil {
		return 0, err
	}
	if err := t.client.DoTimeout(req, resp, t.timeout); err != nil {
		return 0, err
	}
	if read != nil {
		return resp.StatusCode(), read(resp.StatusCode(), resp.Body())
	}
	return resp.StatusCode(), nil
}

func (t *target) buildPost(req *fasthttp.Request, p product) error {
	body, err := reviewBody(p)
	if err != nil {
		return err
	}
	req.SetRequestURI(t.base + "/reviews")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.SetBodyRaw(body)
	return nil
}

func (t *target) build(req *fasthttp.Request, op string) error {
	uri := make([]byte, 0, 128)
	uri = append(uri, t.base...)
	switch op {
	case "list":
		uri = append(uri, "/reviews?product_id="...)
		uri = strconv.AppendInt(uri, int64(t.productID()), 10)
		uri = append(uri, "&sort="...)
		uri = append(uri, sorts[rand.IntN(len(sorts))]...)
	case "meta":
		uri = append(uri, "/reviews/meta?product_id="...)
		uri = strconv.AppendInt(uri, int64(t.productID()), 10)
	case "post":
		if len(t.sample.products) == 0 {
			return errors.New("no sampled product to post to")
		}
		return t.buildPost(req, t.sample.products[rand.IntN(len(t.sample.products))])
	case "helpful", "report":
		if len(t.sample.reviews) == 0 {
			return errors.New("no sampled review to vote on or report")
		}
		uri = append(uri, "/reviews/"...)
		uri = strconv.AppendInt(uri, int64(t.sample.reviews[rand.IntN(len(t.sample.reviews))]), 10)
		uri = append(uri, '/')
		uri = append(uri, op...)
		req.Header.SetMethod(fasthttp.MethodPut)
	default:
		return fmt.Errorf("unknown op %q", op)
	}
	req.SetRequestURIBytes(uri)
	return nil
}

// reviewBody is a valid POST /reviews body for p: every characteristic rated.
func reviewBody(p product) ([]byte, error) {
	chars := make(map[string]int, len(p.characteristics))
	for _, id := range p.characteristics {
		chars[strconv.Itoa(id)] = 1 + rand.IntN(5)
	}
	return json.Marshal(map[string]any{
		"product_id":      p.id,
		"rating":          1 + rand.IntN(5),
		"summary":         "Load test review",
		"body":            reviewBodyText,
		"recommend":       rand.IntN(2) == 1,
		"name":            "loadtest",
		"email":           "loadtest@example.com",
		"photos":          []string{},
		"characteristics": chars,
	})
}

// getJSON fetches path and decodes a 200 answer into v.
func (t *target) getJSON(path string, v any) error {
	_, err := t.send(
		func(req *fasthttp.Request) error { req.SetRequestURI(t.base + path); return nil },
		func(status int, body []byte) error {
			if status != fasthttp.StatusOK {
				return fmt.Errorf("answered %d", status)
			}
			return json.Unmarshal(body, v)
		})
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// setup samples products and review ids for the write operations of s, the
// same way k6/lib.js's setupData does: random products (drawn as reads
// draw them, so from the hot set mostly when the scenario has one) that have
// characteristics, each proved by a first POST (422 drops it), and the
// review ids of their first page.
func (t *target) setup(s *Scenario, st Setup) error {
	needProducts := s.Uses("post")
	needReviews := s.Uses("helpful", "report")
	if !needProducts && !needReviews {
		return nil
	}
	for i := 0; i < st.MaxProbes && len(t.sample.products) < st.SampleProducts; i++ {
		id := t.productID()
		var meta struct {
			Characteristics map[string]struct {
				ID int `json:"id"`
			} `json:"characteristics"`
		}
		if err := t.getJSON("/reviews/meta?product_id="+strconv.Itoa(id), &meta); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		if len(meta.Characteristics) == 0 {
			continue
		}
		p := product{id: id}
		for _, c := range meta.Characteristics {
			p.characteristics = append(p.characteristics, c.ID)
		}
		if needProducts {
			status, err := t.post(p)
			if err != nil {
				return fmt.Errorf("setup: POST /reviews: %w", err)
			}
			if status == fasthttp.StatusUnprocessableEntity {
				continue // characteristics meta does not show (same name twice)
			}
			if status != fasthttp.StatusCreated {
				return fmt.Errorf("setup: POST /reviews for product %d answered %d", id, status)
			}
		}
		t.sample.products = append(t.sample.products, p)
		if needReviews {
			var list struct {
				Results []struct {
					ReviewID int `json:"review_id"`
				} `json:"results"`
			}
			path := fmt.Sprintf("/reviews?product_id=%d&count=%d&sort=newest", id, st.ReviewsPerProduct)
			if err := t.getJSON(path, &list); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			for _, r := range list.Results {
				t.sample.reviews = append(t.sample.reviews, r.ReviewID)
			}
		}
	}
	if len(t.sample.products) == 0 {
		return fmt.Errorf("setup: none of %d random products in 1..%d has characteristics", st.MaxProbes, t.products)
	}
	if needReviews && len(t.sample.reviews) == 0 {
		return errors.New("setup: the sampled products have no reviews to vote on or report")
	}
	return nil
}
