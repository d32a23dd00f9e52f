package etl

import (
	"fmt"
	"io"
	"time"
)

// FileStats counts one file's rows.
type FileStats struct {
	File     string
	Loaded   int64
	Rejected int64
	// Lines is the file's physical lines after the header; RejectedLines
	// those of its rejected records (a record may span several lines, and a
	// broken quote swallows many).
	Lines         int64
	RejectedLines int64
}

// Phase is one step of the load; steps on different tables overlap.
type Phase struct {
	Name     string
	Start    time.Duration // since the load began
	Duration time.Duration
}

// Summary is what a load did.
type Summary struct {
	Files  []FileStats
	Phases []Phase
	Total  time.Duration
	// PhotosMerged is true when the photos were embedded into the reviews
	// while streaming (the files are in review id order); false when they
	// were filled in afterwards with one UPDATE.
	PhotosMerged bool
	// Carried counts the reviews written through the API since the last
	// load that were carried over into the loaded data at the switch.
	Carried int64
	// SwitchAttempts is how many times the switch-over tried to take its
	// locks (1 when nothing was in its way).
	SwitchAttempts int
}

// Stats returns the counts of file name.
func (s *Summary) Stats(name string) FileStats {
	for _, f := range s.Files {
		if f.File == name {
			return f
		}
	}
	return FileStats{File: name}
}

// WriteTable prints rows loaded and rejected per file and seconds per phase.
func (s *Summary) WriteTable(w io.Writer) {
	// Rejected lines show what a broken quote swallowed: one record, many lines.
	fmt.Fprintf(w, "%-28s %12s %10s %14s\n", "file", "loaded", "rejected", "rejected lines")
	var tl, tr, trl int64
	for _, f := range s.Files {
		fmt.Fprintf(w, "%-28s %12d %10d %14d\n", f.File, f.Loaded, f.Rejected, f.RejectedLines)
		tl += f.Loaded
		tr += f.Rejected
		trl += f.RejectedLines
	}
	fmt.Fprintf(w, "%-28s %12d %10d %14d\n", "total", tl, tr, trl)
	fmt.Fprintf(w, "\nreviews written through the API and carried over: %d\n", s.Carried)
	fmt.Fprintf(w, "\n%-36s %8s %8s\n", "phase (they overlap)", "start s", "seconds")
	for _, p := range s.Phases {
		fmt.Fprintf(w, "%-36s %8.1f %8.1f\n", p.Name, p.Start.Seconds(), p.Duration.Seconds())
	}
	fmt.Fprintf(w, "%-36s %8s %8.1f\n", "total (wall clock)", "", s.Total.Seconds())
}

// phase runs f and records how long it took.
func (l *loader) phase(name string, f func() error) error {
	start := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	l.mu.Lock()
	l.summary.Phases = append(l.summary.Phases, Phase{Name: name, Start: start.Sub(l.began), Duration: time.Since(start)})
	l.mu.Unlock()
	return nil
}

func (l *loader) stats(name string) *FileStats {
	for i := range l.summary.Files {
		if l.summary.Files[i].File == name {
			return &l.summary.Files[i]
		}
	}
	panic("etl: unknown file " + name)
}
