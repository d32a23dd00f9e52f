package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"
)

var (
	bodyOK       = []byte(`{"status":"ok"}`)
	bodyDraining = []byte(`{"error":"draining"}`)
	bodyWarming  = []byte(`{"error":"warming up"}`)
)

// ErrWarmingUp is what Store.Ready returns (wrapped) while the instance is
// still opening connections and preparing statements: /readyz says
// "warming up" rather than "database unavailable".
var ErrWarmingUp = errors.New("warming up")

// healthz answers 200 while the process runs.
func (h *Handler) healthz(ctx *fasthttp.RequestCtx) {
	writeJSONBody(ctx, fasthttp.StatusOK, bodyOK)
}

// readyz answers 200 when the database is reachable, its schema current and
// the instance warm; 503 otherwise, while draining, and while cache
// coherence is lost (the cache is bypassed then, so answers are right, but
// balancers should prefer instances that hear every write).
func (h *Handler) readyz(ctx *fasthttp.RequestCtx) {
	if h.draining.Load() {
		ctx.Response.Header.Set("Retry-After", "1")
		writeJSONBody(ctx, fasthttp.StatusServiceUnavailable, bodyDraining)
		return
	}
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := h.store.Ready(c)
	switch {
	case errors.Is(err, ErrWarmingUp):
		ctx.Response.Header.Set("Retry-After", "1")
		writeJSONBody(ctx, fasthttp.StatusServiceUnavailable, bodyWarming)
		return
	case err != nil:
		h.log.Warn("not ready", "err", err)
		writeError(ctx, errUnavailable)
		return
	}
	// Last: a database that is down or cold is the cause to report, not
	// the listener that fails with it.
	if h.cfg.Coherent != nil {
		if err := h.cfg.Coherent(); err != nil {
			writeError(ctx, &Error{Status: fasthttp.StatusServiceUnavailable, Message: err.Error()})
			return
		}
	}
	writeJSONBody(ctx, fasthttp.StatusOK, bodyOK)
}
