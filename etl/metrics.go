package etl

import (
	"fmt"
	"io"

	"github.com/catwalk/reviews/progress"
)

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
