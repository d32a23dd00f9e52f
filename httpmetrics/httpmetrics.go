// Package httpmetrics counts and times every request by route pattern,
// writes the Prometheus text format for GET /metrics, and logs the requests
// an operator must see: slow ones and server errors, never every request.
//
// Each Metrics value owns its own metrics.Set, so several servers in one
// process (tests) never share or clash over series.
package httpmetrics

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

// latencyBuckets are the upper bounds, in seconds, of the latency
// histograms: the API answers in well under a millisecond from cache and
// in milliseconds from PostgreSQL, so the low end is fine-grained.
var latencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// unmatched is the route label of requests no route matched (404, 405).
const unmatched = "unmatched"

// Metrics is safe for concurrent use. Make one with New.
type Metrics struct {
	set  *metrics.Set
	log  *slog.Logger
	slow time.Duration

	// series maps (route, method, status) to its counter and latency
	// histogram. Read on every request without a lock; a new key copies
	// the map under mu (there are a few dozen keys, all made early).
	series    atomic.Pointer[map[seriesKey]*series]
	mu        sync.Mutex
	latencies map[latencyKey]*metrics.PrometheusHistogram // under mu
}

type series struct {
	requests *metrics.Counter
	latency  *metrics.PrometheusHistogram // shared by the statuses of one route and method
}

type seriesKey struct {
	route, method string
	status        int
}

type latencyKey struct{ route, method string }

// New returns Metrics that logs requests slower than slow (0: never) and
// every 5xx answer on log.
func New(log *slog.Logger, slow time.Duration) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{
		set:       metrics.NewSet(),
		log:       log,
		slow:      slow,
		latencies: map[latencyKey]*metrics.PrometheusHistogram{},
	}
	m.series.Store(&map[seriesKey]*series{})
	return m
}

// RegisterWriter adds w to what GET /metrics writes; w must write whole
// lines of the Prometheus text format (see WriteCounter, WriteGauge).
func (m *Metrics) RegisterWriter(w func(io.Writer)) { m.set.RegisterMetricsWriter(w) }

// WriteCounter writes one counter sample line.
func WriteCounter(w io.Writer, name string, v uint64) { metrics.WriteCounterUint64(w, name, v) }

// WriteGauge writes one gauge sample line.
func WriteGauge(w io.Writer, name string, v float64) { metrics.WriteGaugeFloat64(w, name, v) }

// WritePrometheus writes every series of m, then the Go runtime and process
// series (go_*, process_*).
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

// Serve is the GET /metrics handler.
func (m *Metrics) Serve(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	m.WritePrometheus(ctx)
}

// Wrap returns next with every request counted, timed and, when slow or
// answered with a 5xx, logged. The route label is the pattern the router
// matched (SaveMatchedRoutePath), so ids in paths never become labels.
func (m *Metrics) Wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		// fasthttp read the clock when it had read the request; a RequestCtx
		// not served by a fasthttp.Server has no time.
		start := ctx.Time()
		if start.IsZero() {
			start = time.Now()
		}
		next(ctx)
		d := time.Since(start)
		route, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
		if route == "" {
			route = unmatched
		}
		method := methodLabel(ctx.Method())
		status := ctx.Response.StatusCode()
		sr := m.lookup(seriesKey{route, method, status})
		sr.requests.Inc()
		sr.latency.Update(d.Seconds())
		switch {
		case status >= 500:
			m.log.Error("server error", "method", method, "route", route, "uri", string(ctx.RequestURI()), "status", status, "duration", d)
		case m.slow > 0 && d >= m.slow:
			m.log.Warn("slow request", "method", method, "route", route, "uri", string(ctx.RequestURI()), "status", status, "duration", d)
		}
	}
}

// lookup returns the series of k, creating it on first use.
func (m *Metrics) lookup(k seriesKey) *series {
	if sr, ok := (*m.series.Load())[k]; ok {
		return sr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.series.Load()
	if sr, ok := old[k]; ok {
		return sr
	}
	lk := latencyKey{k.route, k.method}
	h, ok := m.latencies[lk]
	if !ok {
		h = m.set.NewPrometheusHistogramExt(fmt.Sprintf(`catwalk_http_request_duration_seconds{route=%q,method=%q}`, k.route, k.method), latencyBuckets)
		m.latencies[lk] = h
	}
	sr := &series{
		requests: m.set.NewCounter(fmt.Sprintf(`catwalk_http_requests_total{route=%q,method=%q,status="%d"}`, k.route, k.method, k.status)),
		latency:  h,
	}
	next := maps.Clone(old)
	next[k] = sr
	m.series.Store(&next)
	return sr
}

// methodLabel maps the request method onto a fixed set of labels, so a
// client cannot grow the number of series.
func methodLabel(b []byte) string {
	switch string(b) {
	case fasthttp.MethodGet:
		return fasthttp.MethodGet
	case fasthttp.MethodHead:
		return fasthttp.MethodHead
	case fasthttp.MethodPost:
		return fasthttp.MethodPost
	case fasthttp.MethodPut:
		return fasthttp.MethodPut
	case fasthttp.MethodDelete:
		return fasthttp.MethodDelete
	case fasthttp.MethodPatch:
		return fasthttp.MethodPatch
	case fasthttp.MethodOptions:
		return fasthttp.MethodOptions
	}
	return "other"
}
