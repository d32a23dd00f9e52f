package main

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// mixColors gives each mix one colour; p99 is drawn solid, p50 dashed.
var mixColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// writePlot draws p50 and p99 over the offered rate, one colour per mix,
// both axes logarithmic (rates go 1k, 2k, 5k…; latencies span milliseconds
// to seconds once a mix is past its capacity), with the p99 limit as a grey
// line. gonum/plot picks SVG or PNG from path's extension.
func writePlot(path string, steps []step, lim limits) error {
	p := plot.New()
	p.Title.Text = "Three instances behind NGINX: latency over offered rate"
	p.X.Label.Text = "offered rate (requests/s)"
	p.Y.Label.Text = "latency from scheduled start (ms)"
	p.X.Scale = plot.LogScale{}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	// Inside the data area: clear of the title and of the Y axis labels.
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(62), vg.Points(-22)
	p.Legend.Padding = vg.Points(2)
	p.Add(plotter.NewGrid())

	rates := map[int]bool{}
	minY, maxY := lim.p99Ms, lim.p99Ms
	for i, mix := range mixes(steps) {
		var p50, p99 plotter.XYs
		for _, s := range steps {
			if s.mix != mix || s.Requests == 0 {
				continue
			}
			rates[s.Rate] = true
			// A log axis has no zero: floor sub-microsecond values.
			y50, y99 := math.Max(s.Latency.P50, 0.001), math.Max(s.Latency.P99, 0.001)
			p50 = append(p50, plotter.XY{X: float64(s.Rate), Y: y50})
			p99 = append(p99, plotter.XY{X: float64(s.Rate), Y: y99})
			minY, maxY = math.Min(minY, y50), math.Max(maxY, y99)
		}
		if len(p99) == 0 {
			continue
		}
		c := mixColors[i%len(mixColors)]
		for _, series := range []struct {
			xys    plotter.XYs
			label  string
			dashes []vg.Length
			shape  draw.GlyphDrawer
		}{
			{p99, mix + " p99", nil, draw.CircleGlyph{}},
			{p50, mix + " p50", []vg.Length{vg.Points(4), vg.Points(3)}, draw.TriangleGlyph{}},
		} {
			l, sc, err := plotter.NewLinePoints(series.xys)
			if err != nil {
				return err
			}
			l.Color, l.Dashes = c, series.dashes
			sc.Color, sc.Shape = c, series.shape
			p.Add(l, sc)
			p.Legend.Add(series.label, l, sc)
		}
	}
	if len(rates) == 0 {
		return fmt.Errorf("no step with requests to plot")
	}
	var xs []int
	for r := range rates {
		xs = append(xs, r)
	}
	sort.Ints(xs)
	var ticks []plot.Tick
	for _, r := range xs {
		ticks = append(ticks, plot.Tick{Value: float64(r), Label: thousands(float64(r))})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	lo, hi := float64(xs[0]), float64(xs[len(xs)-1])
	if lo == hi {
		lo, hi = lo/1.5, hi*1.5
	}
	p.X.Min, p.X.Max = lo/1.1, hi*1.1
	// The legend sits top left: keep the data in the lower 70 % of the
	// (logarithmic) height so it never hides a point.
	p.Y.Min = minY / 1.5
	p.Y.Max = p.Y.Min * math.Pow(maxY*1.5/p.Y.Min, 1/0.7)

	limit, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: lim.p99Ms}, {X: p.X.Max, Y: lim.p99Ms}})
	if err != nil {
		return err
	}
	limit.Color = color.Gray{Y: 0x80}
	limit.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(limit)
	p.Legend.Add(fmt.Sprintf("p99 limit %s ms", num(lim.p99Ms)), limit)
	return p.Save(18*vg.Centimeter, 11*vg.Centimeter, path)
}
