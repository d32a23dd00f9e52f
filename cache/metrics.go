package cache

import (
	"io"

	"github.com/VictoriaMetrics/metrics"
)

// WriteMetrics writes the cache's counters in the Prometheus text format.
// The names live here, next to the Stats they read (as VictoriaMetrics'
// own packages do), so server only registers the writer; the README's
// metrics table lists them.
func (c *Cache) WriteMetrics(w io.Writer) {
	st := c.Stats()
	metrics.WriteCounterUint64(w, "catwalk_cache_hits_total", st.Hits)
	metrics.WriteCounterUint64(w, "catwalk_cache_misses_total", st.Misses)
	metrics.WriteCounterUint64(w, "catwalk_cache_evictions_total", st.Evictions)
	metrics.WriteCounterUint64(w, "catwalk_cache_invalidations_total", st.Invalidations)
	metrics.WriteCounterUint64(w, "catwalk_cache_clears_total", st.Clears)
	metrics.WriteGaugeFloat64(w, "catwalk_cache_bytes", float64(st.Bytes))
}
