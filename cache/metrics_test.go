package cache

import (
	"bytes"
	"strings"
	"testing"
)

// The names are the dashboard's contract (server's TestMetrics and the
// e2e Grafana test check them too); the values must be the Stats.
func TestWriteMetrics(t *testing.T) {
	c := mustCache(t)
	k := Key{Kind: KindMeta, Product: 7}
	fill := func() ([]byte, error) { return []byte("body"), nil }
	for range 2 {
		if _, err := c.Fetch(k, fill); err != nil {
			t.Fatal(err)
		}
		c.Wait()
	}
	c.InvalidateProduct(7)
	c.Clear()
	var b bytes.Buffer
	c.WriteMetrics(&b)
	for _, want := range []string{
		"catwalk_cache_hits_total 1\n",
		"catwalk_cache_misses_total 1\n",
		"catwalk_cache_evictions_total ", // ristretto counts the invalidated entry too
		"catwalk_cache_invalidations_total 1\n",
		"catwalk_cache_clears_total 1\n",
		"catwalk_cache_bytes 0\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
}
