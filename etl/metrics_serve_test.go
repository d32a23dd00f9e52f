package etl

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/catwalk/reviews/progress"
)

// TestServeMetrics: `catwalk etl -metrics-addr` serves the load's phases in
// the Prometheus text format while it runs, and nothing once stopped.
func TestServeMetrics(t *testing.T) {
	d := progress.NewDisplay(nil)
	d.Start("reviews", 10).Add(5, 3)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	stop := ServeMetrics(ln, d)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"catwalk_etl_running 1\n", "catwalk_etl_phase_progress_ratio{phase=\"reviews\"} 0.5\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics: %q lacks %q", body, want)
		}
	}
	stop()
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("the metrics server still answers after stop")
	}
}
