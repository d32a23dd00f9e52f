package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/nrtxn"
	"github.com/catwalk/reviews/queries"
)

// WriteStore is what POST /reviews and the PUT routes need from the database.
// Each method commits before it returns.
type WriteStore interface {
	// CreateReview writes a review, or returns the response stored for
	// key when the key was used before (then it writes nothing).
	CreateReview(ctx context.Context, r *queries.NewReview, key *queries.IdempotencyKey) (int32, *queries.Stored, error)
	// MarkHelpful adds one vote and returns the review's product, or
	// returns the row stored for key when the key was used before (then
	// it votes nothing).
	MarkHelpful(ctx context.Context, reviewID int32, key *queries.IdempotencyKey) (int32, *queries.Stored, error)
	// ReportReview hides the review and returns its product and whether
	// it was visible until now.
	ReportReview(ctx context.Context, reviewID int32) (int32, bool, error)
}

// writeTimeout bounds one write's time in the database.
const writeTimeout = 5 * time.Second

// maxKeyChars is API.md's limit on Idempotency-Key.
const maxKeyChars = 255

var (
	errNotJSON      = &Error{Status: fasthttp.StatusUnsupportedMediaType, Message: "the body must be application/json"}
	errNoSuchReview = &Error{Status: fasthttp.StatusNotFound, Message: "no review with this review_id", Field: "review_id"}
	errBadReviewID  = invalid("review_id", "review_id must be an integer from 1 to 2147483647")
	errBadKey       = invalid("Idempotency-Key", "Idempotency-Key must be at most 255 characters of UTF-8 text")
	errKeyReused    = invalid("Idempotency-Key", "this Idempotency-Key was used with a different body")
	errKeyOther     = invalid("Idempotency-Key", "this Idempotency-Key was used for a different request")
	errNoCharsOwner = invalid("product_id", "product_id names no product with characteristics")
	errCharsMatch   = invalid("characteristics", "characteristics must rate every characteristic of the product, and nothing else")
)

// postReview is POST /reviews: 201 {"review_id":N} once the review and its
// aggregates are committed and this instance's cache of the product evicted.
func (h *Handler) postReview(ctx *fasthttp.RequestCtx) {
	if !isJSON(ctx.Request.Header.ContentType()) {
		writeError(ctx, errNotJSON)
		return
	}
	key, err := idempotencyKey(ctx)
	if err != nil {
		writeError(ctx, err)
		return
	}
	raw := ctx.PostBody()
	r, err := parseNewReview(raw)
	if err != nil {
		writeError(ctx, err)
		return
	}
	var k *queries.IdempotencyKey
	if key != "" {
		sum := sha256.Sum256(raw)
		k = &queries.IdempotencyKey{Key: key, RequestHash: sum[:]}
	}
	c, cancel := context.WithTimeout(nrtxn.Context(ctx), writeTimeout)
	defer cancel()
	id, stored, err := h.store.CreateReview(c, r, k)
	if err != nil {
		writeError(ctx, h.writeFailure(err))
		return
	}
	if stored != nil {
		if !bytes.Equal(stored.RequestHash, k.RequestHash) {
			if stored.Status != fasthttp.StatusCreated {
				writeError(ctx, errKeyOther) // a vote's key
				return
			}
			writeError(ctx, errKeyReused)
			return
		}
		writeJSONBody(ctx, stored.Status, stored.Body)
		return
	}
	h.evict(r.ProductID)
	writeJSONBody(ctx, fasthttp.StatusCreated, createdBody(id))
}

// createdBody is POST's 201 body. The statement stores the same bytes for
// an Idempotency-Key, so a replay answers identically.
func createdBody(id int32) []byte {
	b := make([]byte, 0, 32)
	b = append(b, `{"review_id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, '}')
}

// markHelpful is PUT /reviews/:review_id/helpful: one more vote, 204. With
// an Idempotency-Key, a repeat votes nothing and answers 204 again; the
// key used before for another review, or for a POST, is 422.
func (h *Handler) markHelpful(ctx *fasthttp.RequestCtx) {
	h.changeReview(ctx, func(c context.Context, id int32, key string) (int32, bool, error) {
		var k *queries.IdempotencyKey
		if key != "" {
			k = &queries.IdempotencyKey{Key: key, RequestHash: queries.HelpfulRequest(id)}
		}
		product, stored, err := h.store.MarkHelpful(c, id, k)
		switch {
		case err != nil:
			return 0, false, err
		case stored != nil && !bytes.Equal(stored.RequestHash, k.RequestHash):
			return 0, false, errKeyOther
		}
		// A replay evicts too: the first try may have committed on an
		// instance that died before it could evict or announce.
		return product, true, nil
	})
}

// report is PUT /reviews/:review_id/report: the review leaves lists and
// meta, 204; reporting it again changes nothing and is 204 too. Being
// idempotent by itself, it checks an Idempotency-Key's form but does not
// record the key.
func (h *Handler) report(ctx *fasthttp.RequestCtx) {
	h.changeReview(ctx, func(c context.Context, id int32, _ string) (int32, bool, error) {
		return h.store.ReportReview(c, id)
	})
}

// changeReview runs one PUT's change on the review named by the path, with
// the request's Idempotency-Key ("" when none), and evicts its product
// when something changed.
func (h *Handler) changeReview(ctx *fasthttp.RequestCtx, change func(c context.Context, id int32, key string) (product int32, changed bool, err error)) {
	id, err := reviewID(ctx)
	if err != nil {
		writeError(ctx, err)
		return
	}
	key, err := idempotencyKey(ctx)
	if err != nil {
		writeError(ctx, err)
		return
	}
	c, cancel := context.WithTimeout(nrtxn.Context(ctx), writeTimeout)
	defer cancel()
	product, changed, err := change(c, id, key)
	if err != nil {
		writeError(ctx, h.writeFailure(err))
		return
	}
	if changed {
		h.evict(product)
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// evict forgets this instance's cached responses of product after a
// committed write and has the other instances told (Config.Written).
func (h *Handler) evict(product int32) {
	switch {
	case h.cfg.Written != nil:
		h.cfg.Written(uint32(product))
	case h.cache != nil:
		h.cache.InvalidateProduct(uint32(product))
	}
}

func reviewID(ctx *fasthttp.RequestCtx) (int32, error) {
	v, _ := ctx.UserValue("review_id").(string)
	id, ok := parseID([]byte(v))
	if !ok {
		return 0, errBadReviewID
	}
	return id, nil
}

// isJSON accepts application/json in any letter case, with parameters; a
// charset parameter other than utf-8 is refused.
func isJSON(ct []byte) bool {
	mediaType, params, _ := bytes.Cut(ct, []byte(";"))
	if !bytes.EqualFold(bytes.TrimSpace(mediaType), []byte("application/json")) {
		return false
	}
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte(";"))
		name, value, _ := bytes.Cut(p, []byte("="))
		if !bytes.EqualFold(bytes.TrimSpace(name), []byte("charset")) {
			continue
		}
		value = bytes.Trim(bytes.TrimSpace(value), `"`)
		if !bytes.EqualFold(value, []byte("utf-8")) && !bytes.EqualFold(value, []byte("utf8")) {
			return false
		}
	}
	return true
}

// idempotencyKey returns the Idempotency-Key header, "" when absent or empty.
func idempotencyKey(ctx *fasthttp.RequestCtx) (string, error) {
	v := ctx.Request.Header.Peek("Idempotency-Key")
	if len(v) == 0 {
		return "", nil
	}
	if !utf8.Valid(v) || utf8.RuneCount(v) > maxKeyChars || bytes.IndexByte(v, 0) >= 0 {
		return "", errBadKey
	}
	return string(v), nil
}

// writeFailure maps a store error to what the client sees; unexpected
// causes are logged, never shown.
func (h *Handler) writeFailure(err error) error {
	var e *Error
	var we *queries.WriteError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &we):
		h.log.Error("write failed", "err", err, "maybe_written", we.MaybeWritten)
		if we.MaybeWritten {
			return errMaybeWritten
		}
		return errNotWritten
	case errors.Is(err, queries.ErrNotFound):
		return errNoSuchReview
	case errors.Is(err, queries.ErrNoCharacteristics):
		return errNoCharsOwner
	case errors.Is(err, queries.ErrCharacteristicsMismatch):
		return errCharsMatch
	}
	return h.storeFailure("write", err)
}
