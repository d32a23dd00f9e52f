// Package loadhtml renders the summary of one load run — bench/load's -json
// or the summary k6/lib.js's handleSummary writes, which share their field
// names — as one self-contained HTML page: the run, the thresholds and
// their verdicts, a table per operation, and plots drawn by gonum/plot
// (latency over time per operation, requests and errors per second,
// percentiles per operation), inlined as SVG. The page loads nothing:
// no script, no stylesheet, no font from the network, so it opens from a
// file on a machine without one. A k6 summary has no per-second timeline:
// its page says so and points to k6's web dashboard export.
package loadhtml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Summary is the part of a run's JSON the page shows (bench/load's
// summary.go documents every field).
type Summary struct {
	Tool         string               `json:"tool"`
	Scenario     string               `json:"scenario"`
	Mode         string               `json:"mode"`
	Products     int                  `json:"products"`
	ProductsFrom string               `json:"products_from"`
	Rate         int                  `json:"rate"`
	MaxInFlight  int                  `json:"max_in_flight"`
	Conns        int                  `json:"conns"`
	Duration     float64              `json:"duration_s"`
	Elapsed      float64              `json:"elapsed_s"`
	Requests     int64                `json:"requests"`
	OK           int64                `json:"ok"`
	Errors       int64                `json:"errors"`
	ErrorRate    float64              `json:"error_rate"`
	Failed       int64                `json:"failed"`
	Empty        int64                `json:"empty"`
	Achieved     float64              `json:"achieved_rps"`
	Latency      Percentiles          `json:"latency_ms"`
	Outcomes     []string             `json:"outcomes"`
	ByOp         map[string]OpSummary `json:"by_op"`
	SLO          string               `json:"slo"`
	Thresholds   []Threshold          `json:"thresholds"`
	Pass         bool                 `json:"pass"`
	Timeline     []TimePoint          `json:"timeline"`
}

// Percentiles are milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// OpSummary is one operation's share of the run.
type OpSummary struct {
	Requests int64       `json:"requests"`
	Errors   int64       `json:"errors"`
	Empty    int64       `json:"empty"`
	Latency  Percentiles `json:"latency_ms"`
}

// Threshold is one judged threshold, named as k6 names it.
type Threshold struct {
	Metric    string  `json:"metric"`
	Condition string  `json:"threshold"`
	Value     float64 `json:"value"`
	OK        bool    `json:"ok"`
}

// TimePoint is one second of the run.
type TimePoint struct {
	T        int                  `json:"t_s"`
	Requests int64                `json:"requests"`
	Errors   int64                `json:"errors"`
	Latency  Percentiles          `json:"latency_ms"`
	ByOp     map[string]OpSummary `json:"by_op"`
}

// Parse reads a summary.
func Parse(b []byte) (*Summary, error) {
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	if s.Scenario == "" {
		return nil, fmt.Errorf("summary: no scenario: not a bench/load -json or k6 summary")
	}
	return &s, nil
}

// opOrder lists the operations of API.md in the order every table uses.
var opOrder = []string{"list", "meta", "post", "helpful", "report"}

// Ops are the operations of the run, known ones first.
func (s *Summary) Ops() []string {
	var out []string
	for _, op := range opOrder {
		if _, ok := s.ByOp[op]; ok {
			out = append(out, op)
		}
	}
	var rest []string
	for op := range s.ByOp {
		if !contains(opOrder, op) {
			rest = append(rest, op)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// WriteFile renders s into path, whole or not at all.
func WriteFile(path string, s *Summary) error {
	var buf bytes.Buffer
	if err := Render(&buf, s); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

type opRow struct {
	Op string
	OpSummary
}

type page struct {
	*Summary
	Title      string
	Rows       []opRow
	OverTime   template.HTML // latency over time per operation
	Throughput template.HTML // requests and errors per second
	ByOpPlot   template.HTML // percentiles per operation
}

// Render writes the page of s to w.
func Render(w io.Writer, s *Summary) error {
	p := page{Summary: s, Title: fmt.Sprintf("%s: %s", s.Tool, s.Scenario)}
	for _, op := range s.Ops() {
		p.Rows = append(p.Rows, opRow{op, s.ByOp[op]})
	}
	var err error
	if len(s.Timeline) > 0 {
		if p.OverTime, err = svg(overTimePlot(s)); err != nil {
			return err
		}
		if p.Throughput, err = svg(throughputPlot(s)); err != nil {
			return err
		}
	}
	if len(p.Rows) > 0 {
		if p.ByOpPlot, err = svg(byOpPlot(s)); err != nil {
			return err
		}
	}
	return pageTemplate.Execute(w, p)
}

// svg renders a plot as an inline <svg> element (gonum/plot writes a whole
// SVG document; HTML wants the element alone).
func svg(p *plot.Plot, err error) (template.HTML, error) {
	if err != nil {
		return "", err
	}
	wt, err := p.WriterTo(20*vg.Centimeter, 10*vg.Centimeter, "svg")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return "", err
	}
	doc := buf.String()
	i := strings.Index(doc, "<svg")
	if i < 0 {
		return "", fmt.Errorf("gonum/plot wrote no <svg> element")
	}
	return template.HTML(doc[i:]), nil
}

// opColors gives each operation the same colour in every plot.
var opColors = map[string]color.Color{
	"list":    color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"meta":    color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"post":    color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	"helpful": color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	"report":  color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

func opColor(op string) color.Color {
	if c, ok := opColors[op]; ok {
		return c
	}
	return color.Black
}

// floor keeps values on a logarithmic axis, which has no zero.
func floor(v float64) float64 { return math.Max(v, 0.01) }

// overTimePlot draws each operation's p99 per second (solid) and p50
// (dashed), latency on a logarithmic axis, with the SLO's latency limits
// of the run as grey lines.
func overTimePlot(s *Summary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Latency over time, per operation (p99 solid, p50 dashed)"
	p.X.Label.Text = "seconds since start"
	p.Y.Label.Text = "latency (ms)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, op := range s.Ops() {
		var p50, p99 plotter.XYs
		for _, pt := range s.Timeline {
			o, ok := pt.ByOp[op]
			if !ok || o.Requests == 0 {
				continue
			}
			p50 = append(p50, plotter.XY{X: float64(pt.T), Y: floor(o.Latency.P50)})
			p99 = append(p99, plotter.XY{X: float64(pt.T), Y: floor(o.Latency.P99)})
			minY, maxY = math.Min(minY, floor(o.Latency.P50)), math.Max(maxY, floor(o.Latency.P99))
		}
		if len(p99) == 0 {
			continue
		}
		for _, series := range []struct {
			xys    plotter.XYs
			label  string
			dashes []vg.Length
		}{{p99, op + " p99", nil}, {p50, op + " p50", []vg.Length{vg.Points(3), vg.Points(2)}}} {
			l, err := plotter.NewLine(series.xys)
			if err != nil {
				return nil, err
			}
			l.Color, l.Dashes = opColor(op), series.dashes
			p.Add(l)
			if series.dashes == nil {
				p.Legend.Add(series.label, l)
			}
		}
	}
	if maxY > 0 {
		// The legend sits top right: keep the lines in the lower 65 % of
		// the (logarithmic) height so that it hides none.
		p.Y.Min = minY / 1.5
		p.Y.Max = p.Y.Min * math.Pow(maxY*1.5/p.Y.Min, 1/0.65)
	}
	return p, nil
}

// throughputPlot draws the answers and the errors of each second.
func throughputPlot(s *Summary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Requests per second: answered, and errors"
	p.X.Label.Text = "seconds since start"
	p.Y.Label.Text = "requests in the second"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	var reqs, errs plotter.XYs
	top := 1.0
	for _, pt := range s.Timeline {
		reqs = append(reqs, plotter.XY{X: float64(pt.T), Y: float64(pt.Requests)})
		errs = append(errs, plotter.XY{X: float64(pt.T), Y: float64(pt.Errors)})
		top = math.Max(top, float64(pt.Requests))
	}
	for _, series := range []struct {
		xys   plotter.XYs
		label string
		c     color.Color
	}{{reqs, "requests", color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}}, {errs, "errors", color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}}} {
		l, sc, err := plotter.NewLinePoints(series.xys)
		if err != nil {
			return nil, err
		}
		l.Color, sc.Color, sc.Shape = series.c, series.c, draw.CircleGlyph{}
		sc.Radius = vg.Points(1.5)
		p.Add(l, sc)
		p.Legend.Add(series.label, l)
	}
	p.Y.Min, p.Y.Max = 0, top*1.3 // room for the legend
	return p, nil
}

// byOpPlot draws p50, p95 and p99 of each operation as grouped bars.
func byOpPlot(s *Summary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Latency per operation, whole run"
	p.Y.Label.Text = "latency (ms)"
	p.Legend.Top = true
	ops := s.Ops()
	w := vg.Points(14)
	top := 0.0
	for _, op := range ops {
		top = math.Max(top, s.ByOp[op].Latency.P99)
	}
	shades := []color.Color{
		color.RGBA{R: 0x9e, G: 0xca, B: 0xe1, A: 0xff},
		color.RGBA{R: 0x42, G: 0x92, B: 0xc6, A: 0xff},
		color.RGBA{R: 0x08, G: 0x45, B: 0x94, A: 0xff},
	}
	for i, q := range []struct {
		label string
		get   func(Percentiles) float64
	}{{"p50", func(x Percentiles) float64 { return x.P50 }}, {"p95", func(x Percentiles) float64 { return x.P95 }}, {"p99", func(x Percentiles) float64 { return x.P99 }}} {
		var vals plotter.Values
		for _, op := range ops {
			vals = append(vals, q.get(s.ByOp[op].Latency))
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		b.Color = shades[i]
		b.LineStyle.Width = 0
		b.Offset = vg.Length(i-1) * w
		p.Add(b)
		p.Legend.Add(q.label, b)
	}
	p.NominalX(ops...)
	p.Y.Min, p.Y.Max = 0, math.Max(top, 0.001)*1.35 // room for the legend
	return p, nil
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"f3":  func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"pct": func(v float64) string { return fmt.Sprintf("%.3f %%", 100*v) },
	"verdict": func(ok bool) string {
		if ok {
			return "pass"
		}
		return "FAIL"
	},
	"join": strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.pass { color: #176317; } .fail { color: #b00; font-weight: bold; }
figure { margin: 1em 0; }
</style>
</head>
<body>
<h1>{{.Tool}} run of scenario <code>{{.Scenario}}</code>: <span class="{{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}every threshold passed{{else}}a threshold failed{{end}}</span></h1>
<section id="run">
<h2>Run</h2>
<table>
<tr><th>mode</th><td>{{.Mode}}{{if .Rate}}, {{.Rate}} req/s offered{{end}}{{if .Conns}}, {{.Conns}} connections{{end}}</td></tr>
<tr><th>duration asked, elapsed</th><td>{{f1 .Duration}} s, {{f1 .Elapsed}} s</td></tr>
<tr><th>products</th><td>{{if .Products}}1..{{.Products}} ({{.ProductsFrom}}){{else}}unknown{{end}}</td></tr>
<tr><th>requests, achieved</th><td>{{.Requests}}, {{f1 .Achieved}} req/s</td></tr>
<tr><th>errors (not answered as API.md says)</th><td>{{.Errors}} ({{pct .ErrorRate}})</td></tr>
<tr><th>failed (status ≥ 400 or no answer)</th><td>{{.Failed}}</td></tr>
<tr><th>empty answers (reads without data)</th><td>{{.Empty}}</td></tr>
<tr><th>latency p50 / p95 / p99 / max (ms)</th><td>{{f3 .Latency.P50}} / {{f3 .Latency.P95}} / {{f3 .Latency.P99}} / {{f3 .Latency.Max}}</td></tr>
{{if .Outcomes}}<tr><th>outcomes</th><td>{{join .Outcomes " "}}</td></tr>{{end}}
</table>
</section>
<section id="thresholds">
<h2>Thresholds{{if .SLO}} (SLO profile <code>{{.SLO}}</code>){{end}}</h2>
<table>
<tr><th>metric</th><th>threshold</th><th>value</th><th>verdict</th></tr>
{{range .Thresholds}}<tr class="{{if .OK}}pass{{else}}fail{{end}}"><td><code>{{.Metric}}</code></td><td><code>{{.Condition}}</code></td><td>{{f3 .Value}}</td><td>{{verdict .OK}}</td></tr>
{{end}}</table>
</section>
<section id="operations">
<h2>Per operation</h2>
<table>
<tr><th>operation</th><th>requests</th><th>errors</th><th>empty</th><th>p50 ms</th><th>p90 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>
{{range .Rows}}<tr><td>{{.Op}}</td><td>{{.Requests}}</td><td>{{.Errors}}</td><td>{{.Empty}}</td><td>{{f3 .Latency.P50}}</td><td>{{f3 .Latency.P90}}</td><td>{{f3 .Latency.P95}}</td><td>{{f3 .Latency.P99}}</td><td>{{f3 .Latency.Max}}</td></tr>
{{end}}</table>
{{if .ByOpPlot}}<figure id="by-op">{{.ByOpPlot}}</figure>{{end}}
</section>
<section id="over-time">
<h2>Over time</h2>
{{if .OverTime}}<figure id="latency-over-time">{{.OverTime}}</figure>
<figure id="throughput">{{.Throughput}}</figure>
{{else}}<p>This summary has no per-second timeline ({{.Tool}} writes none; for k6, export its web dashboard: <code>K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_EXPORT=report.html</code>).</p>
{{end}}</section>
</body>
</html>
`))
