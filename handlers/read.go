package handlers

import "github.com/valyala/fasthttp"

// ReadStore is what GET /reviews and GET /reviews/meta need from the database.
type ReadStore interface{}

func (h *Handler) listReviews(ctx *fasthttp.RequestCtx) {
	writeError(ctx, &Error{Status: fasthttp.StatusNotImplemented, Message: "not implemented yet"})
}

func (h *Handler) meta(ctx *fasthttp.RequestCtx) {
	writeError(ctx, &Error{Status: fasthttp.StatusNotImplemented, Message: "not implemented yet"})
}
