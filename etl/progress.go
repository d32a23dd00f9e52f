package etl

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress reports one phase of work: a redrawn bar with rows/s and ETA on a
// terminal, a plain line every few seconds otherwise. It is shared with the
// generator.
type Progress struct {
	out      io.Writer
	tty      bool
	name     string
	total    int64 // bytes (or units) expected; 0 when unknown
	done     atomic.Int64
	rows     atomic.Int64
	start    time.Time
	stop     chan struct{}
	finished sync.WaitGroup
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// StartProgress begins reporting phase name out of total units (bytes).
// A nil out reports nothing.
func StartProgress(out io.Writer, name string, total int64) *Progress {
	p := &Progress{out: out, name: name, total: total, start: time.Now(), stop: make(chan struct{})}
	if out == nil {
		return p
	}
	p.tty = IsTerminal(out)
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	p.finished.Add(1)
	go func() {
		defer p.finished.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
	return p
}

// Add records n more units done and rows more rows handled.
func (p *Progress) Add(n, rows int64) {
	p.done.Add(n)
	p.rows.Add(rows)
}

// SetRows sets the rows handled so far.
func (p *Progress) SetRows(rows int64) { p.rows.Store(rows) }

// Done stops the reporting and prints the phase's final line.
func (p *Progress) Done() time.Duration {
	el := time.Since(p.start)
	if p.out == nil {
		return el
	}
	close(p.stop)
	p.finished.Wait()
	p.draw(true)
	return el
}

func (p *Progress) draw(final bool) {
	el := time.Since(p.start).Seconds()
	rows := p.rows.Load()
	done := p.done.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(rows) / el
	}
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	eta := "?"
	if final {
		frac = 1
		eta = "0s"
	} else if frac > 0 {
		eta = time.Duration(el * (1 - frac) / frac * float64(time.Second)).Round(time.Second).String()
	}
	if p.tty {
		const width = 30
		n := int(frac * width)
		bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.out, "\r%-24s [%s] %3.0f%% %12d rows %9.0f rows/s ETA %-6s%s", p.name, bar, frac*100, rows, rate, eta, end)
		return
	}
	if final {
		fmt.Fprintf(p.out, "%s: done, %d rows in %.1fs (%.0f rows/s)\n", p.name, rows, el, rate)
		return
	}
	fmt.Fprintf(p.out, "%s: %.0f%% %d rows %.0f rows/s ETA %s\n", p.name, frac*100, rows, rate, eta)
}
