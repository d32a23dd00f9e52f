package handlers

import (
	"errors"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/queries"
)

// Error is an error a client can act on: a status, a message for a person
// and, when one input is at fault, its name.
type Error struct {
	Status  int
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Message }

var (
	errInternal    = &Error{Status: fasthttp.StatusInternalServerError, Message: "internal error"}
	errUnavailable = &Error{Status: fasthttp.StatusServiceUnavailable, Message: "database unavailable, retry shortly"}
	// A write's 503 says whether a retry could count it twice.
	errNotWritten   = &Error{Status: fasthttp.StatusServiceUnavailable, Message: "database unavailable, nothing was written; retry shortly"}
	errMaybeWritten = &Error{Status: fasthttp.StatusServiceUnavailable, Message: "database unavailable: the write may have been saved; retry with the same Idempotency-Key"}
)

func invalid(field, msg string) *Error {
	return &Error{Status: fasthttp.StatusUnprocessableEntity, Message: msg, Field: field}
}

type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

const contentTypeJSON = "application/json; charset=utf-8"

// writeError sends err as the API's JSON error body. Errors that are not an
// *Error are internal: the client sees a generic message, never the cause.
func writeError(ctx *fasthttp.RequestCtx, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = errInternal
	}
	b, _ := json.Marshal(errorBody{Error: e.Message, Field: e.Field})
	if e.Status == fasthttp.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(b)
}

// storeFailure maps an unexpected store error to what the client sees: 503
// with Retry-After when it is the database's unavailability (a lost or
// refused connection, a server shutting down or starting, a time-out:
// queries.Unavailable decides), a generic 500 otherwise. The cause is
// logged, never shown.
func (h *Handler) storeFailure(op string, err error) error {
	if queries.Unavailable(err) {
		h.log.Warn(op+" failed: database unavailable", "err", err)
		return errUnavailable
	}
	h.log.Error(op+" failed", "err", err)
	return errInternal
}

// ServerError answers requests fasthttp rejects before any handler runs:
// a body over the limit is 413, anything else unparsable is 400, both as the
// API's JSON errors. Use it as fasthttp.Server.ErrorHandler.
func ServerError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		writeError(ctx, &Error{Status: fasthttp.StatusRequestEntityTooLarge, Message: "request body too large"})
		return
	}
	var tooLarge *fasthttp.ErrSmallBuffer
	if errors.As(err, &tooLarge) {
		writeError(ctx, &Error{Status: fasthttp.StatusRequestHeaderFieldsTooLarge, Message: "request headers too large"})
		return
	}
	writeError(ctx, &Error{Status: fasthttp.StatusBadRequest, Message: "malformed request"})
}

// writeJSONBody sends a ready JSON body with status.
func writeJSONBody(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(body)
}
