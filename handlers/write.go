package handlers

import "github.com/valyala/fasthttp"

// WriteStore is what POST /reviews and the PUT routes need from the database.
type WriteStore interface{}

func (h *Handler) postReview(ctx *fasthttp.RequestCtx) {
	writeError(ctx, &Error{Status: fasthttp.StatusNotImplemented, Message: "not implemented yet"})
}

func (h *Handler) markHelpful(ctx *fasthttp.RequestCtx) {
	writeError(ctx, &Error{Status: fasthttp.StatusNotImplemented, Message: "not implemented yet"})
}

func (h *Handler) report(ctx *fasthttp.RequestCtx) {
	writeError(ctx, &Error{Status: fasthttp.StatusNotImplemented, Message: "not implemented yet"})
}
