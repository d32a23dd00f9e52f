package etl_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/catwalk/reviews/etl"
	"github.com/catwalk/reviews/progress"
)

// TestLoadProgressMetrics: a Display handed to Load shows, in the
// Prometheus text format, every phase the load went through, each done.
func TestLoadProgressMetrics(t *testing.T) {
	conn := connect(t)
	d := progress.NewDisplay(nil)
	if _, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: "testdata/tricky", RejectsDir: t.TempDir(), MaxRejectRatio: 1, Display: d}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	etl.WritePrometheus(&b, d)
	out := b.String()
	for _, file := range etl.Files {
		phase := strings.TrimSuffix(file, ".csv")
		for _, want := range []string{
			`catwalk_etl_phase_progress_ratio{phase="` + phase + `"} 1` + "\n",
			`catwalk_etl_phase_done{phase="` + phase + `"} 1` + "\n",
			`catwalk_etl_phase_rows{phase="` + phase + `"} `,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("metrics lack %q:\n%s", want, out)
			}
		}
	}
}

// TestProgressMetricsRunning: a phase under way shows its share done.
func TestProgressMetricsRunning(t *testing.T) {
	d := progress.NewDisplay(nil)
	p := d.Start("reviews", 400)
	p.Add(100, 7)
	var b bytes.Buffer
	etl.WritePrometheus(&b, d)
	want := "catwalk_etl_phase_progress_ratio{phase=\"reviews\"} 0.25\n" +
		"catwalk_etl_phase_rows{phase=\"reviews\"} 7\n" +
		"catwalk_etl_phase_done{phase=\"reviews\"} 0\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
