package etl

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/catwalk/reviews/progress"
)

// ServeMetrics serves d's phases (WritePrometheus) and catwalk_etl_running
// at /metrics on ln until stop, which closes ln: a scraper sees a load while
// it runs and nothing once it is over.
func ServeMetrics(ln net.Listener, d *progress.Display) (stop func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		io.WriteString(w, "catwalk_etl_running 1\n")
		WritePrometheus(w, d)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

// WritePrometheus writes each phase of d in the Prometheus text format, for
// an operator's dashboard during a long load (`catwalk etl -metrics-addr`):
// the share done (units over total; 1 once done), the rows handled and
// whether it is done, labelled by phase ("reviews", "reviews: indexes", …).
func WritePrometheus(w io.Writer, d *progress.Display) {
	states := d.States()
	type sample struct {
		name string
		v    func(s progress.State) float64
	}
	for _, s := range []sample{
		{"catwalk_etl_phase_progress_ratio", func(s progress.State) float64 { return s.Ratio }},
		{"catwalk_etl_phase_rows", func(s progress.State) float64 { return float64(s.Rows) }},
		{"catwalk_etl_phase_done", func(s progress.State) float64 {
			if s.Done {
				return 1
			}
			return 0
		}},
	} {
		for _, st := range states {
			fmt.Fprintf(w, "%s{phase=%q} %g\n", s.name, st.Name, s.v(st))
		}
	}
}
