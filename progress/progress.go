// Package progress shows the progress of phases that run at the same time:
// live bars redrawn in place on a terminal and, on anything else (a log
// file, a pipe, /dev/null), no live line, only plain lines a log can keep.
// catwalk gen and catwalk etl both draw with it.
package progress

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// Display shows the progress of phases that may run at the same time: on a
// terminal, one bar per phase with rows/s and ETA, redrawn in place; when
// the output is not a terminal, a plain line per running phase every few
// seconds and one when a phase ends.
type Display struct {
	out   io.Writer
	tty   bool
	mu    sync.Mutex
	bars  []*Progress
	lines int // lines drawn last time (terminal)
	stop  chan struct{}
	wg    sync.WaitGroup
}

// IsTerminal reports whether w is a terminal. It asks the terminal driver
// (term.IsTerminal) rather than looking for a character device: /dev/null
// is a character device too, and escape codes redrawn four times a second
// into it, or into a serial log, are waste or noise.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// NewDisplay starts a display on out; a nil out shows nothing.
func NewDisplay(out io.Writer) *Display {
	d := &Display{out: out, stop: make(chan struct{})}
	if out == nil {
		return d
	}
	d.tty = IsTerminal(out)
	every := 5 * time.Second
	if d.tty {
		every = 250 * time.Millisecond
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-t.C:
				d.draw()
			}
		}
	}()
	return d
}

// Close stops the display after drawing the final state.
func (d *Display) Close() {
	if d.out == nil {
		return
	}
	close(d.stop)
	d.wg.Wait()
	if d.tty {
		d.draw()
	}
}

// Start adds a phase of total units (bytes, or anything that grows to total).
func (d *Display) Start(name string, total int64) *Progress {
	p := &Progress{d: d, name: name, total: total, start: time.Now()}
	d.mu.Lock()
	d.bars = append(d.bars, p)
	d.mu.Unlock()
	return p
}

func (d *Display) draw() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tty {
		var b strings.Builder
		if d.lines > 0 {
			fmt.Fprintf(&b, "\x1b[%dA", d.lines)
		}
		for _, p := range d.bars {
			b.WriteString("\r\x1b[2K")
			b.WriteString(p.line(true))
			b.WriteByte('\n')
		}
		d.lines = len(d.bars)
		io.WriteString(d.out, b.String())
		return
	}
	for _, p := range d.bars {
		if !p.done.Load() {
			fmt.Fprintln(d.out, p.line(false))
		}
	}
}

// Progress is one phase of a Display.
type Progress struct {
	d     *Display
	own   bool // Done closes d too
	name  string
	total int64
	units atomic.Int64
	rows  atomic.Int64
	done  atomic.Bool
	start time.Time
	took  atomic.Int64 // nanoseconds, once done
}

// Start shows a single phase on out (nil: nothing); Done ends it.
func Start(out io.Writer, name string, total int64) *Progress {
	p := NewDisplay(out).Start(name, total)
	p.own = true
	return p
}

// Add records n more units done and rows more rows handled.
func (p *Progress) Add(n, rows int64) {
	p.units.Add(n)
	p.rows.Add(rows)
}

// Set sets the units done and the rows handled so far.
func (p *Progress) Set(units, rows int64) {
	p.units.Store(units)
	p.rows.Store(rows)
}

// SetUnits sets the units done so far.
func (p *Progress) SetUnits(units int64) { p.units.Store(units) }

// SetRows sets the rows handled so far.
func (p *Progress) SetRows(rows int64) { p.rows.Store(rows) }

// Done ends the phase and returns how long it took.
func (p *Progress) Done() time.Duration {
	el := time.Since(p.start)
	p.took.Store(int64(el))
	p.done.Store(true)
	if p.d.out != nil && !p.d.tty {
		p.d.mu.Lock()
		fmt.Fprintln(p.d.out, p.line(false))
		p.d.mu.Unlock()
	}
	if p.own {
		p.d.Close()
	}
	return el
}

func (p *Progress) line(bar bool) string {
	done := p.done.Load()
	el := time.Since(p.start)
	if done {
		el = time.Duration(p.took.Load())
	}
	rows := p.rows.Load()
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(rows) / s
	}
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(p.units.Load())/float64(p.total), 1)
	}
	eta := "?"
	switch {
	case done:
		frac, eta = 1, "done"
	case frac > 0:
		eta = time.Duration(el.Seconds() * (1 - frac) / frac * float64(time.Second)).Round(time.Second).String()
	}
	if bar {
		const width = 30
		n := int(frac * width)
		return fmt.Sprintf("%-32s [%s%s] %3.0f%% %11d rows %9.0f rows/s %6.1fs ETA %s",
			p.name, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, rows, rate, el.Seconds(), eta)
	}
	if done {
		return fmt.Sprintf("%s: done, %d rows in %.1fs (%.0f rows/s)", p.name, rows, el.Seconds(), rate)
	}
	return fmt.Sprintf("%s: %.0f%%, %d rows, %.0f rows/s, ETA %s", p.name, frac*100, rows, rate, eta)
}

// State is a phase as a metrics exporter sees it.
type State struct {
	Name  string
	Ratio float64 // units done over total, 1 once done
	Rows  int64
	Done  bool
}

// States returns the phases started so far, in the order they started.
func (d *Display) States() []State {
	d.mu.Lock()
	bars := slices.Clone(d.bars)
	d.mu.Unlock()
	out := make([]State, len(bars))
	for i, p := range bars {
		st := State{Name: p.name, Rows: p.rows.Load(), Done: p.done.Load()}
		switch {
		case st.Done:
			st.Ratio = 1
		case p.total > 0:
			st.Ratio = min(float64(p.units.Load())/float64(p.total), 1)
		}
		out[i] = st
	}
	return out
}
