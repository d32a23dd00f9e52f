package etl

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/catwalk/reviews/progress"
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

// source reads one CSV file: it checks the header, counts rows, writes
// rejects (when rejects is true) and reports progress.
type source struct {
	name    string
	f       *os.File
	rd      *csvReader
	rec     record
	cols    int
	rejects *rejectWriter
	prog    *progress.Progress
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
			return nil, fmt.Errorf("%s: rejects file: %w", name, err)
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
	if phase == "" {
		s.prog = progress.NewDisplay(nil).Start("", 0)
	} else {
		s.prog = l.display.Start(phase, st.Size())
	}
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
	s.stats.RejectedLines += int64(s.rec.Lines)
	if err := s.rejects.add(s.rec.Line, why, s.rec.Raw); err != nil {
		return fmt.Errorf("%s: rejects file: %w", s.name, err)
	}
	return nil
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
	if s.stats != nil {
		s.stats.Lines = int64(max(s.rd.line-1, 0)) // after the header
	}
	if s.rejects != nil {
		if err = s.rejects.close(); err != nil {
			err = fmt.Errorf("%s: rejects file: %w", s.name, err)
		}
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

// close flushes and syncs the file: a full disk often shows only when the
// data reaches it, and a load must fail before it switches over rather than
// leave rejects it said it kept unwritten.
func (r *rejectWriter) close() error {
	r.w.Flush()
	err := r.w.Error()
	if err == nil {
		// EINVAL: a file that cannot be synced (a device): nothing to wait for.
		if serr := r.f.Sync(); !errors.Is(serr, syscall.EINVAL) {
			err = serr
		}
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}
