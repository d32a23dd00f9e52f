// Package handlers owns the HTTP surface: routes, parsing and validation,
// status codes and the exact JSON shapes of docs/API.md (api/openapi.yaml).
package handlers

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/cache"
)

// Config holds the knobs of the HTTP layer.
type Config struct {
	// MaxPageSize caps the reviews one list page returns.
	MaxPageSize int
	// LoaderIOToken, when set, is served at /<token>/ and /<token>.txt.
	LoaderIOToken string
	// Metrics, when set, serves GET /metrics.
	Metrics fasthttp.RequestHandler
	// Written, when set, is told every product a committed write changed,
	// before the write is acknowledged; it evicts the product here and tells
	// the other instances (invalidate.Coherence.Written). Unset, the handler
	// evicts its own cache and nothing else (a single instance, tests).
	Written func(product uint32)
	// Coherent, when set, is asked by /readyz: an error means this instance
	// may miss other instances' writes (or they its), and is the 503's reason.
	Coherent func() error
	// CORSOrigins are the origins whose pages may call the API from a
	// browser (ParseOrigins; "*": any). Empty: no CORS headers at all.
	CORSOrigins []string
	// CacheControl is the Cache-Control of both GETs' answers (see
	// CacheControl); empty: "no-cache".
	CacheControl string
}

// DefaultMaxPageSize is the MaxPageSize of a zero Config, and the default
// of `catwalk serve -max-page-size` (through server.Defaults).
const DefaultMaxPageSize = 10000

// Store is everything the handlers need from the database.
type Store interface {
	ReadStore
	WriteStore
	// Ready reports whether the database is reachable and its schema current.
	Ready(ctx context.Context) error
}

// Handler serves the API. Make one with New.
type Handler struct {
	store        Store
	cache        *cache.Cache
	cfg          Config
	log          *slog.Logger
	draining     atomic.Bool
	cors         *cors // nil: no CORS
	cacheControl []byte
	routes       *router.Router // the last Router's, for Routes
}

// New returns a Handler; c may be nil to run without a cache.
func New(store Store, c *cache.Cache, cfg Config, log *slog.Logger) *Handler {
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = DefaultMaxPageSize
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.CacheControl == "" {
		cfg.CacheControl = noCache
	}
	return &Handler{store: store, cache: c, cfg: cfg, log: log, cors: newCORS(cfg.CORSOrigins), cacheControl: []byte(cfg.CacheControl)}
}

// SetDraining turns /readyz to 503 so load balancers stop sending traffic.
func (h *Handler) SetDraining(v bool) { h.draining.Store(v) }

// Router returns the request handler with every route of the API.
func (h *Handler) Router() fasthttp.RequestHandler {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	// OPTIONS answers 204 with the route's Allow header, so the Allow
	// header of a 405 (which lists OPTIONS) tells the truth.
	r.HandleOPTIONS = true
	r.GlobalOPTIONS = func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	}
	r.SaveMatchedRoutePath = true
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		writeError(ctx, &Error{Status: fasthttp.StatusNotFound, Message: "no such route"})
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeError(ctx, &Error{Status: fasthttp.StatusMethodNotAllowed, Message: "method not allowed on this route"})
	}
	r.PanicHandler = func(ctx *fasthttp.RequestCtx, v any) {
		h.log.Error("panic in handler", "path", string(ctx.Path()), "panic", v)
		writeError(ctx, errInternal)
	}

	r.GET("/reviews", h.listReviews)
	r.GET("/reviews/meta", h.meta)
	r.POST("/reviews", h.postReview)
	r.PUT("/reviews/{review_id}/helpful", h.markHelpful)
	r.PUT("/reviews/{review_id}/report", h.report)

	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)
	h.registerDocs(r)
	if h.cfg.Metrics != nil {
		r.GET("/metrics", h.cfg.Metrics)
	}
	if tok := h.cfg.LoaderIOToken; tok != "" {
		serveToken := func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBodyString(tok)
		}
		r.GET("/"+tok+"/", serveToken)
		r.GET("/"+tok+".txt", serveToken)
	}
	serve := func(ctx *fasthttp.RequestCtx) {
		// The two read routes carry nearly all traffic: dispatch them
		// without the router, which allocates to save the matched path.
		// API.md serves /reviews/ like /reviews, without a redirect.
		if ctx.IsGet() {
			switch string(ctx.Path()) {
			case "/reviews", "/reviews/":
				ctx.SetUserValue(matchedRouteKey, routeReviews)
				h.listReviews(ctx)
				return
			case "/reviews/meta":
				ctx.SetUserValue(matchedRouteKey, routeMeta)
				h.meta(ctx)
				return
			}
		}
		if string(ctx.Path()) == "/reviews/" {
			ctx.URI().SetPath("/reviews")
		}
		r.Handler(ctx)
	}
	if h.cors == nil {
		return serve
	}
	return func(ctx *fasthttp.RequestCtx) {
		serve(ctx)
		h.cors.apply(ctx)
	}
}

// ServerError is the package's ServerError plus this handler's CORS
// headers, so a browser can read why fasthttp refused its request (a
// body over the limit). Use it as fasthttp.Server.ErrorHandler.
func (h *Handler) ServerError(ctx *fasthttp.RequestCtx, err error) {
	ServerError(ctx, err)
	if h.cors != nil {
		h.cors.apply(ctx)
	}
}

// Boxed once so that the fast path sets the matched route (as the router
// would) without allocating.
var (
	matchedRouteKey any = router.MatchedRoutePathParam
	routeReviews    any = "/reviews"
	routeMeta       any = "/reviews/meta"
)
