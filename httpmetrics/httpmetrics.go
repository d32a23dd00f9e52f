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
	"sync"
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

// Unmatched is the route label of requests no route matched (404, 405).
const Unmatched = "unmatched"

// Metrics is safe for concurrent use. Make one with New.
type Metrics struct {
	set  *metrics.Set
	log  *slog.Logger
	slow time.Duration

	mu        sync.RWMutex
	requests  map[seriesKey]*metrics.Counter
	latencies map[latencyKey]*metrics.PrometheusHistogram
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
	set := metrics.NewSet()
	return &Metrics{
		set:       set,
		log:       log,
		slow:      slow,
		requests:  map[seriesKey]*metrics.Counter{},
		latencies: map[latencyKey]*metrics.PrometheusHistogram{},
	}
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
		start := time.Now()
		next(ctx)
		d := time.Since(start)
		route, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
		if route == "" {
			route = Unmatched
		}
		method := methodLabel(ctx.Method())
		status := ctx.Response.StatusCode()
		m.counter(seriesKey{route, method, status}).Inc()
		m.histogram(latencyKey{route, method}).Update(d.Seconds())
		switch {
		case status >= 500:
			m.log.Error("server error", "method", method, "route", route, "uri", string(ctx.RequestURI()), "status", status, "duration", d)
		case m.slow > 0 && d >= m.slow:
			m.log.Warn("slow request", "method", method, "route", route, "uri", string(ctx.RequestURI()), "status", status, "duration", d)
		}
	}
}

func (m *Metrics) counter(k seriesKey) *metrics.Counter {
	return getOrCreate(&m.mu, m.requests, k, func() *metrics.Counter {
		return m.set.NewCounter(fmt.Sprintf(`catwalk_http_requests_total{route=%q,method=%q,status="%d"}`, k.route, k.method, k.status))
	})
}

func (m *Metrics) histogram(k latencyKey) *metrics.PrometheusHistogram {
	return getOrCreate(&m.mu, m.latencies, k, func() *metrics.PrometheusHistogram {
		return m.set.NewPrometheusHistogramExt(fmt.Sprintf(`catwalk_http_request_duration_seconds{route=%q,method=%q}`, k.route, k.method), latencyBuckets)
	})
}

// getOrCreate returns series[k], creating it once under mu: the read lock
// serves every request after a series' first.
func getOrCreate[K comparable, V any](mu *sync.RWMutex, series map[K]V, k K, create func() V) V {
	mu.RLock()
	v, ok := series[k]
	mu.RUnlock()
	if ok {
		return v
	}
	mu.Lock()
	defer mu.Unlock()
	if v, ok = series[k]; !ok {
		v = create()
		series[k] = v
	}
	return v
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
