package handlers

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/api"
)

// registerDocs serves the API reference (api/openapi.yaml, as JSON) at
// GET /openapi.json and keeps r, so that Routes can list what it serves.
func (h *Handler) registerDocs(r *router.Router) {
	r.GET("/openapi.json", serveOpenAPI)
	h.routes = r
}

// serveOpenAPI sends the embedded document: ready bytes, never re-encoded.
func serveOpenAPI(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.SetBodyRaw(api.JSON())
}

// Routes lists every path the last Router registered, by method, in the
// router's syntax ({review_id}). GET /reviews/ is served too, by Router's
// fast path, without being a route of its own. The OpenAPI test checks
// that the document covers them all.
func (h *Handler) Routes() map[string][]string {
	if h.routes == nil {
		return nil
	}
	return h.routes.List()
}
