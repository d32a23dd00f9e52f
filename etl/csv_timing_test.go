package etl

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/catwalk/reviews/gen"
)

// BenchmarkCSVReader reads a generated reviews.csv (quoted texts, doubled
// quotes, line breaks) and reports the throughput.
func BenchmarkCSVReader(b *testing.B) {
	dir := b.TempDir()
	if _, err := gen.Generate(gen.Options{Dir: dir, Products: 2000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ReviewsFile))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := newCSVReader(bytes.NewReader(data))
		var rec record
		for {
			err := r.Read(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || rec.Err != "" || len(rec.Fields) != 12 {
				b.Fatalf("record %d: %v %q", rec.Line, err, rec.Err)
			}
		}
	}
}
