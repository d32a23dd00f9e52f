package handlers

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/jsontext"
	"github.com/catwalk/reviews/queries"
)

// ReadStore is what GET /reviews and GET /reviews/meta need from the database.
type ReadStore interface {
	// ListReviews calls fn for each review of one page, in order; the
	// Review and its slices are valid only during the call.
	ListReviews(ctx context.Context, product int32, sort queries.Sort, limit int32, offset int64, fn func(*queries.Review) error) error
	// ProductMeta returns a product's aggregates (zero for an unknown one).
	ProductMeta(ctx context.Context, product int32) (queries.Meta, error)
}

// readTimeout bounds one read statement. A fill is shared by every request
// missing the same key, so it does not run on any one request's context.
const readTimeout = 5 * time.Second

const (
	defaultPage  = 1
	defaultCount = 5
)

// listParams are the validated parameters of GET /reviews.
type listParams struct {
	product int32
	page    int32
	count   int32
	sort    queries.Sort
}

func (h *Handler) listReviews(ctx *fasthttp.RequestCtx) {
	p, err := parseListParams(ctx)
	if err != nil {
		writeError(ctx, err)
		return
	}
	key := cache.Key{Kind: cache.KindList, Sort: uint8(p.sort), Product: uint32(p.product), Page: uint32(p.page), Count: uint32(p.count)}
	h.serveCached(ctx, key, func() ([]byte, error) { return h.buildList(p) })
}

func (h *Handler) meta(ctx *fasthttp.RequestCtx) {
	if err := checkQueryEncoding(ctx); err != nil {
		writeError(ctx, err)
		return
	}
	product, err := productParam(ctx.QueryArgs())
	if err != nil {
		writeError(ctx, err)
		return
	}
	key := cache.Key{Kind: cache.KindMeta, Product: uint32(product)}
	h.serveCached(ctx, key, func() ([]byte, error) { return h.buildMeta(product) })
}

// serveCached answers with the cached body of key, or builds it with fill
// (one fill for all concurrent misses of key) and caches it with its ETag.
// A hit runs no SQL, no JSON encoding and no hashing: the stored bytes and
// tag go to the response (or only the tag, in a 304; see writeCached).
func (h *Handler) serveCached(ctx *fasthttp.RequestCtx, key cache.Key, fill func() ([]byte, error)) {
	if h.cache != nil {
		if v, ok := h.cache.GetValue(key); ok {
			h.writeCached(ctx, &v)
			return
		}
	}
	var v cache.Value
	var err error
	if h.cache != nil {
		v, err = h.cache.FillValue(key, fill)
	} else if v.Body, err = fill(); err == nil {
		v.ETag = cache.Tag(v.Body)
	}
	if err != nil {
		writeError(ctx, h.storeFailure("read", err))
		return
	}
	h.writeCached(ctx, &v)
}

// writeCachedBody answers 200 with body without copying it: bodies built
// for the cache are never modified once built, so the response may point
// at them.
func writeCachedBody(ctx *fasthttp.RequestCtx, body []byte) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.SetBodyRaw(body)
}

// parseListParams validates GET /reviews's query string as API.md says:
// the first occurrence of a parameter counts and an empty value is absent.
func parseListParams(ctx *fasthttp.RequestCtx) (listParams, error) {
	p := listParams{page: defaultPage, count: defaultCount, sort: queries.SortRelevant}
	if err := checkQueryEncoding(ctx); err != nil {
		return p, err
	}
	args := ctx.QueryArgs()
	var err error
	if p.product, err = productParam(args); err != nil {
		return p, err
	}
	if v := args.Peek("page"); len(v) > 0 {
		n, ok := parseID(v)
		if !ok {
			return p, invalid("page", "page must be an integer from 1 to 2147483647")
		}
		p.page = n
	}
	if v := args.Peek("count"); len(v) > 0 {
		n, ok := parseID(v)
		if !ok {
			return p, invalid("count", "count must be an integer from 1 to 2147483647")
		}
		p.count = n
	}
	if v := args.Peek("sort"); len(v) > 0 {
		switch string(v) {
		case "relevant":
			p.sort = queries.SortRelevant
		case "newest":
			p.sort = queries.SortNewest
		case "helpful":
			p.sort = queries.SortHelpful
		default:
			return p, invalid("sort", "sort must be newest, helpful or relevant")
		}
	}
	return p, nil
}

func productParam(args *fasthttp.Args) (int32, error) {
	v := args.Peek("product_id")
	if len(v) == 0 {
		return 0, invalid("product_id", "product_id is required")
	}
	n, ok := parseID(v)
	if !ok {
		return 0, invalid("product_id", "product_id must be an integer from 1 to 2147483647")
	}
	return n, nil
}

var errBadQueryEncoding = &Error{Status: fasthttp.StatusBadRequest, Message: "malformed query string: bad percent-encoding"}

// checkQueryEncoding rejects a raw query string with a '%' that does not
// start a two-hex-digit escape: fasthttp would decode it leniently and
// answer for a parameter the client did not mean.
func checkQueryEncoding(ctx *fasthttp.RequestCtx) error {
	if !validPercentEncoding(ctx.URI().QueryString()) {
		return errBadQueryEncoding
	}
	return nil
}

func validPercentEncoding(q []byte) bool {
	for i := 0; i < len(q); i++ {
		if q[i] != '%' {
			continue
		}
		if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
			return false
		}
		i += 2
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// maxRows is more rows than any product can have (review ids are int4), so
// a page starting past it is empty without asking the database.
const maxRows = math.MaxInt32

// scratch holds the buffers list bodies are built in. A body is encoded
// in one, then copied out at its exact size: a cached body keeps alive
// exactly what the cache charges for it (cache.Cost), never a buffer
// sized for 64 reviews behind a two-byte empty page.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxScratch: larger buffers (a page of thousands of reviews) are not
// kept for reuse, so idle pools hold little.
const maxScratch = 1 << 20

// buildList runs one list page and encodes the response body.
func (h *Handler) buildList(p listParams) ([]byte, error) {
	bp := scratch.Get().(*[]byte)
	b, err := h.appendList((*bp)[:0], p)
	// The copy's capacity is its allocation's size class, which is what
	// cache.Cost charges.
	body := append([]byte(nil), b...)
	if cap(b) <= maxScratch {
		*bp = b[:0]
		scratch.Put(bp)
	}
	if err != nil {
		return nil, err
	}
	return body, nil
}

func (h *Handler) appendList(b []byte, p listParams) ([]byte, error) {
	limit := min(p.count, int32(h.cfg.MaxPageSize))
	offset := int64(p.page-1) * int64(p.count)

	b = append(b, `{"product":"`...)
	b = strconv.AppendInt(b, int64(p.product), 10)
	b = append(b, `","page":`...)
	b = strconv.AppendInt(b, int64(p.page-1), 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(p.count), 10)
	b = append(b, `,"results":[`...)
	if offset < maxRows {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		first := true
		err := h.store.ListReviews(ctx, p.product, p.sort, limit, offset, func(r *queries.Review) error {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendReview(b, r)
			return nil
		})
		if err != nil {
			return b, err
		}
	}
	b = append(b, "]}"...)
	return b, nil
}

// dateLayout is API.md's date: UTC, milliseconds, a literal Z.
const dateLayout = "2006-01-02T15:04:05.000Z"

func appendReview(b []byte, r *queries.Review) []byte {
	b = append(b, `{"review_id":`...)
	b = strconv.AppendInt(b, int64(r.ID), 10)
	b = append(b, `,"rating":`...)
	b = strconv.AppendInt(b, int64(r.Rating), 10)
	b = append(b, `,"summary":`...)
	b = jsontext.AppendString(b, r.Summary)
	b = append(b, `,"recommend":`...)
	b = strconv.AppendBool(b, r.Recommend)
	b = append(b, `,"response":`...)
	if r.Response == nil {
		b = append(b, "null"...)
	} else {
		b = jsontext.AppendString(b, r.Response)
	}
	b = append(b, `,"body":`...)
	b = jsontext.AppendString(b, r.Body)
	b = append(b, `,"date":"`...)
	b = r.Date.UTC().AppendFormat(b, dateLayout)
	b = append(b, `","reviewer_name":`...)
	b = jsontext.AppendString(b, r.ReviewerName)
	b = append(b, `,"helpfulness":`...)
	b = strconv.AppendInt(b, int64(r.Helpfulness), 10)
	b = append(b, `,"photos":`...)
	if len(r.Photos) == 0 {
		b = append(b, "[]"...)
	} else {
		b = append(b, r.Photos...)
	}
	return append(b, '}')
}

// buildMeta reads a product's aggregates and encodes the response body.
func (h *Handler) buildMeta(product int32) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	m, err := h.store.ProductMeta(ctx, product)
	if err != nil {
		return nil, err
	}
	// Copied at its exact size, like a list body (see scratch).
	var buf [1024]byte
	return append([]byte(nil), appendMeta(buf[:0], product, &m)...), nil
}

func appendMeta(b []byte, product int32, m *queries.Meta) []byte {
	b = append(b, `{"product_id":"`...)
	b = strconv.AppendInt(b, int64(product), 10)
	b = append(b, `","ratings":{`...)
	sep := false
	for i, n := range m.Ratings {
		if n == 0 {
			continue
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"', byte('1'+i), '"', ':', '"')
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '"')
	}
	b = append(b, `},"recommended":{`...)
	sep = false
	for i, n := range m.Recommended {
		if n == 0 {
			continue
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, [2]string{`"false":"`, `"true":"`}[i]...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '"')
	}
	b = append(b, `},"characteristics":{`...)
	sep = false
	for i, c := range m.Characteristics {
		if shadowed(m.Characteristics[:i], c.Name) {
			continue // same name as a lower id: the lower id is shown
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = jsontext.AppendString(b, []byte(c.Name))
		b = append(b, `:{"id":`...)
		b = strconv.AppendInt(b, int64(c.ID), 10)
		b = append(b, `,"value":`...)
		if c.Count <= 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, '"')
			b = appendAverage(b, c.Sum, c.Count)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// shadowed reports whether name is among before (a product has a handful of
// characteristics, so a scan beats a map).
func shadowed(before []queries.Characteristic, name string) bool {
	for _, c := range before {
		if c.Name == name {
			return true
		}
	}
	return false
}
