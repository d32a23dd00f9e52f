// Package etl loads the four source CSV files into PostgreSQL: it validates
// every row, streams the valid ones with binary COPY into staging tables,
// computes the read model (photos JSON, product_meta, characteristic sums)
// while streaming, builds the indexes, and switches the staging tables in for
// the served ones in the same transaction. A bad row goes to a rejects file
// with its line and reason; it never stops the load.
package etl

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/catwalk/reviews/schema"
)

// The source files and their header rows (API.md, "Source data").
const (
	ReviewsFile               = "reviews.csv"
	PhotosFile                = "reviews_photos.csv"
	CharacteristicsFile       = "characteristics.csv"
	CharacteristicReviewsFile = "characteristic_reviews.csv"
)

var headers = map[string]string{
	ReviewsFile:               "id,product_id,rating,date,summary,body,recommend,reported,reviewer_name,reviewer_email,response,helpfulness",
	PhotosFile:                "id,review_id,url",
	CharacteristicsFile:       "id,product_id,name",
	CharacteristicReviewsFile: "id,characteristic_id,review_id,value",
}

// Files lists the source files in the order the summary reports them.
var Files = []string{ReviewsFile, PhotosFile, CharacteristicsFile, CharacteristicReviewsFile}

// lockID serialises loads: a second etl waits for the first to finish.
const lockID int64 = 0x63617477616c6b + 1

// Options configure a load.
type Options struct {
	Dir        string    // directory holding the four files
	RejectsDir string    // where rejects files go; "" means Dir/rejects
	Progress   io.Writer // progress output; nil for none
}

// FileStats counts one file's rows.
type FileStats struct {
	File     string
	Loaded   int64
	Rejected int64
}

// Phase is the wall time of one step of the load.
type Phase struct {
	Name     string
	Duration time.Duration
}

// Summary is what a load did.
type Summary struct {
	Files  []FileStats
	Phases []Phase
	// PhotosMerged is true when the photos were embedded into the reviews
	// while streaming (the files are sorted by review id); false when they
	// were filled in afterwards with one UPDATE.
	PhotosMerged bool
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
	fmt.Fprintf(w, "%-28s %12s %10s\n", "file", "loaded", "rejected")
	var tl, tr int64
	for _, f := range s.Files {
		fmt.Fprintf(w, "%-28s %12d %10d\n", f.File, f.Loaded, f.Rejected)
		tl += f.Loaded
		tr += f.Rejected
	}
	fmt.Fprintf(w, "%-28s %12d %10d\n", "total", tl, tr)
	fmt.Fprintf(w, "\n%-28s %10s\n", "phase", "seconds")
	var total time.Duration
	for _, p := range s.Phases {
		fmt.Fprintf(w, "%-28s %10.1f\n", p.Name, p.Duration.Seconds())
		total += p.Duration
	}
	fmt.Fprintf(w, "%-28s %10.1f\n", "total", total.Seconds())
}

// review is what later files need to know of a kept review: its product,
// negated when the review is reported. Zero: no such review.
type review = int32

// characteristic is a kept characteristic and its aggregates.
type characteristic struct {
	product int32
	count   int32
	sum     int64
	written bool // second pass: already copied
}

// meta is a product's counts over its non-reported reviews.
type meta struct {
	ratings   [5]int32
	recFalse  int32
	recTrue   int32
	hasReview bool
}

type loader struct {
	opt     Options
	tx      pgx.Tx
	summary Summary

	reviews   idTable[review]
	photos    idTable[bool]
	chars     idTable[characteristic]
	charRevs  idTable[bool]
	products  idTable[meta]
	mergeSum  uint64 // photos embedded while streaming reviews
	photosSum uint64 // photos loaded; equal to mergeSum when the merge was complete
	merged    bool
}

// Load loads the files of opt.Dir into the database behind conn, replacing
// its reviews data in one transaction. An interrupted load changes nothing.
func Load(ctx context.Context, conn *pgx.Conn, opt Options) (*Summary, error) {
	if opt.RejectsDir == "" {
		opt.RejectsDir = filepath.Join(opt.Dir, "rejects")
	}
	for _, name := range Files {
		if _, err := os.Stat(filepath.Join(opt.Dir, name)); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opt.RejectsDir, 0o755); err != nil {
		return nil, err
	}
	l := &loader{opt: opt}
	for _, name := range Files {
		l.summary.Files = append(l.summary.Files, FileStats{File: name})
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		l.tx = tx
		return l.run(ctx)
	})
	if err != nil {
		return nil, err
	}
	return &l.summary, nil
}

func (l *loader) phase(name string, f func() error) error {
	start := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	l.summary.Phases = append(l.summary.Phases, Phase{Name: name, Duration: time.Since(start)})
	return nil
}

func (l *loader) exec(ctx context.Context, sql string, args ...any) error {
	_, err := l.tx.Exec(ctx, sql, args...)
	return err
}

func (l *loader) run(ctx context.Context) error {
	steps := []struct {
		name string
		f    func(context.Context) error
	}{
		{"prepare", l.prepare},
		{"check reviews, characteristics", l.validate},
		{"reviews", l.loadReviews},
		{"reviews_photos", l.loadPhotos},
		{"characteristic_reviews", l.loadCharacteristicReviews},
		{"characteristics", l.loadCharacteristics},
		{"product_meta", l.loadProductMeta},
		{"photos (update)", l.fixPhotos},
		{"indexes", func(ctx context.Context) error { return l.exec(ctx, schema.ETLIndex) }},
		{"switch", func(ctx context.Context) error { return l.exec(ctx, schema.ETLSwitch) }},
		{"analyze", func(ctx context.Context) error {
			return l.exec(ctx, "ANALYZE reviews, reviews_photos, characteristics, characteristic_reviews, product_meta")
		}},
	}
	for _, s := range steps {
		if s.name == "photos (update)" && l.merged {
			continue
		}
		if err := l.phase(s.name, func() error { return s.f(ctx) }); err != nil {
			return err
		}
	}
	l.summary.PhotosMerged = l.merged
	return nil
}

// validate runs the first passes that need no database side by side.
func (l *loader) validate(ctx context.Context) error {
	var g errgroup.Group
	g.Go(func() error { return l.validateReviews(ctx) })
	g.Go(func() error { return l.checkCharacteristics(ctx) })
	return g.Wait()
}

func (l *loader) prepare(ctx context.Context) error {
	for _, sql := range []string{
		"SELECT pg_advisory_xact_lock(" + strconv.FormatInt(lockID, 10) + ")",
		"SET LOCAL maintenance_work_mem = '512MB'",
		"SET LOCAL max_parallel_maintenance_workers = 2",
		schema.ETLStage,
	} {
		if err := l.exec(ctx, sql); err != nil {
			return err
		}
	}
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

// copyFrom streams what produce writes into table with binary COPY. produce
// runs in its own goroutine, so parsing overlaps the server's work.
func (l *loader) copyFrom(ctx context.Context, table string, columns []string, produce func(*copyWriter) error) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		cw := newCopyWriter(pw)
		err := produce(cw)
		if err == nil {
			err = cw.close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	sql := "COPY " + table + " (" + strings.Join(columns, ", ") + ") FROM STDIN (FORMAT binary)"
	_, err := l.tx.Conn().PgConn().CopyFrom(ctx, pr, sql)
	pr.CloseWithError(errors.New("copy ended"))
	perr := <-done
	if perr != nil {
		return perr
	}
	return err
}

// source reads one CSV file: it checks the header, counts rows, writes
// rejects (when rejects is true) and reports progress.
type source struct {
	name    string
	f       *os.File
	rd      *csvReader
	rec     record
	cols    int
	rejects *rejectWriter
	prog    *Progress
	rows    int64
	lastN   int64
	stats   *FileStats
}

func (l *loader) open(name, phase string, rejects bool) (*source, error) {
	path := filepath.Join(l.opt.Dir, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &source{name: name, f: f, rd: newCSVReader(f), cols: strings.Count(headers[name], ",") + 1}
	if rejects {
		s.stats = l.stats(name)
		s.rejects, err = newRejectWriter(filepath.Join(l.opt.RejectsDir, name))
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := s.rd.Read(&s.rec); err != nil {
		s.close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file, want the header %q", name, headers[name])
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	got := ""
	if s.rec.Err == "" {
		got = strings.TrimPrefix(strings.TrimSpace(string(s.rec.Raw)), "\ufeff")
	}
	if got != headers[name] {
		s.close()
		return nil, fmt.Errorf("%s: header is %q, want %q", name, s.rec.Raw, headers[name])
	}
	out := l.opt.Progress
	if phase == "" {
		out = nil
	}
	s.prog = StartProgress(out, phase, st.Size())
	return s, nil
}

// next reads the next record that has the right shape. Records that do
// not parse or have the wrong number of columns are rejected here.
func (s *source) next() (bool, error) {
	for {
		if err := s.rd.Read(&s.rec); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return false, fmt.Errorf("%s: %w", s.name, err)
		}
		s.rows++
		if s.rows&4095 == 0 {
			s.prog.Add(s.rd.nread-s.lastN, 4096)
			s.lastN = s.rd.nread
		}
		switch {
		case s.rec.Err != "":
			if err := s.reject("broken quoting: " + s.rec.Err); err != nil {
				return false, err
			}
		case len(s.rec.Fields) != s.cols:
			if err := s.reject(columnsReason(len(s.rec.Fields), s.cols)); err != nil {
				return false, err
			}
		default:
			return true, nil
		}
	}
}

// reject records the current record as bad (when this pass keeps rejects).
func (s *source) reject(why string) error {
	if s.rejects == nil {
		return nil
	}
	s.stats.Rejected++
	return s.rejects.add(s.rec.Line, why, s.rec.Raw)
}

func (s *source) kept() {
	if s.stats != nil {
		s.stats.Loaded++
	}
}

func (s *source) close() error {
	var err error
	if s.prog != nil {
		s.prog.Add(s.rd.nread-s.lastN, s.rows&4095)
		s.prog.Done()
	}
	if s.rejects != nil {
		err = s.rejects.close()
	}
	s.f.Close()
	return err
}

// rejectWriter writes rejected records as CSV: line, reason, the record.
type rejectWriter struct {
	f *os.File
	w *csv.Writer
}

func newRejectWriter(path string) (*rejectWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := csv.NewWriter(f)
	if err := w.Write([]string{"line", "reason", "record"}); err != nil {
		f.Close()
		return nil, err
	}
	return &rejectWriter{f: f, w: w}, nil
}

func (r *rejectWriter) add(line int, why string, raw []byte) error {
	return r.w.Write([]string{strconv.Itoa(line), why, string(raw)})
}

func (r *rejectWriter) close() error {
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		r.f.Close()
		return err
	}
	return r.f.Close()
}
