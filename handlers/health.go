package handlers

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"
)

var (
	bodyOK       = []byte(`{"status":"ok"}`)
	bodyDraining = []byte(`{"error":"draining"}`)
)

// healthz answers 200 while the process runs.
func (h *Handler) healthz(ctx *fasthttp.RequestCtx) {
	writeJSONBody(ctx, fasthttp.StatusOK, bodyOK)
}

// readyz answers 200 when the database is reachable and its schema current,
// 503 otherwise, while draining, and while cache coherence is lost (the
// cache is bypassed then, so answers are right, but balancers should prefer
// instances that hear every write).
func (h *Handler) readyz(ctx *fasthttp.RequestCtx) {
	if h.draining.Load() {
		ctx.Response.Header.Set("Retry-After", "1")
		writeJSONBody(ctx, fasthttp.StatusServiceUnavailable, bodyDraining)
		return
	}
	if h.cfg.Coherent != nil {
		if err := h.cfg.Coherent(); err != nil {
			writeError(ctx, &Error{Status: fasthttp.StatusServiceUnavailable, Message: err.Error()})
			return
		}
	}
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.store.Ready(c); err != nil {
		h.log.Warn("not ready", "err", err)
		writeError(ctx, errUnavailable)
		return
	}
	writeJSONBody(ctx, fasthttp.StatusOK, bodyOK)
}
