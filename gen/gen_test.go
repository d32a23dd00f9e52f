package gen

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func mustGenerate(t *testing.T, opt Options) (string, *Counts) {
	t.Helper()
	opt.Dir = t.TempDir()
	c, err := Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	return opt.Dir, c
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenerateDeterministic(t *testing.T) {
	a, _ := mustGenerate(t, Options{Products: 5000, Seed: 3, Dirty: 0.01})
	b, _ := mustGenerate(t, Options{Products: 5000, Seed: 3, Dirty: 0.01})
	c, _ := mustGenerate(t, Options{Products: 5000, Seed: 4, Dirty: 0.01})
	for _, name := range files {
		if !bytes.Equal(read(t, a, name), read(t, b, name)) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	if bytes.Equal(read(t, a, "reviews.csv"), read(t, c, "reviews.csv")) {
		t.Error("reviews.csv is the same for two seeds")
	}
}

// TestGenerateFormat reads a clean dataset with encoding/csv (strict
// RFC 4180) and checks the header, the widths and the counts.
func TestGenerateFormat(t *testing.T) {
	dir, counts := mustGenerate(t, Options{Products: 2000, Seed: 1})
	f := func(name string, width int, want int64) [][]string {
		t.Helper()
		r := csv.NewReader(bytes.NewReader(read(t, dir, name)))
		r.FieldsPerRecord = width
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := int64(len(recs) - 1); got != want {
			t.Errorf("%s: %d rows, want %d", name, got, want)
		}
		return recs
	}
	reviews := f("reviews.csv", 12, counts.Reviews)
	f("reviews_photos.csv", 3, counts.Photos)
	f("characteristics.csv", 3, counts.Characteristics)
	f("characteristic_reviews.csv", 4, counts.CharacteristicReviews)
	var multiline, quotes, nulls int
	for _, r := range reviews[1:] {
		if bytes.ContainsRune([]byte(r[5]), '\n') {
			multiline++
		}
		if bytes.ContainsRune([]byte(r[5]), '"') {
			quotes++
		}
		if r[10] == "null" {
			nulls++
		}
		if n := len(r[5]); n < 50 || n > 1000 {
			t.Errorf("review %s: body of %d characters", r[0], n)
		}
	}
	if multiline == 0 || quotes == 0 {
		t.Errorf("bodies with line breaks %d, with quotes %d: want some of each", multiline, quotes)
	}
	if frac := float64(nulls) / float64(len(reviews)-1); frac < 0.9 {
		t.Errorf("responses null in %.2f of reviews, want most", frac)
	}
}

// TestFullScaleShape plans the full-scale dataset (structure only, no text)
// and checks its row counts are within 1% of the real export's.
func TestFullScaleShape(t *testing.T) {
	c := &chunk{first: 1, last: FullScale, start: ids{1, 1, 1, 1}}
	next := c.plan(1)
	f := func(name string, got, want int64) {
		t.Helper()
		if d := math.Abs(float64(got)/float64(want) - 1); d > 0.01 {
			t.Errorf("%s: %d rows, want %d within 1%%", name, got, want)
		}
	}
	f("reviews", next.review-1, 5_774_952)
	f("photos", next.photo-1, 2_742_540)
	f("characteristics", next.char-1, 3_347_679)
	f("characteristic_reviews", next.charRev-1, 19_327_575)
}

func TestGenerateFailure(t *testing.T) {
	f := func(opt Options) {
		t.Helper()
		opt.Dir = t.TempDir()
		if _, err := Generate(opt); err == nil {
			t.Errorf("Generate(%+v) succeeded, want an error", opt)
		}
	}
	f(Options{Products: 0})
	f(Options{Products: 10, Dirty: -0.1})
	f(Options{Products: 10, Dirty: 0.9})
}

// TestGenerateDirty checks -dirty writes about that fraction of bad rows,
// of every kind, in every file.
func TestGenerateDirty(t *testing.T) {
	_, c := mustGenerate(t, Options{Products: 3000, Seed: 5, Dirty: 0.05})
	rows := map[string]int64{
		"reviews.csv": c.Reviews, "reviews_photos.csv": c.Photos,
		"characteristics.csv": c.Characteristics, "characteristic_reviews.csv": c.CharacteristicReviews,
	}
	for i, file := range files {
		bad := c.BadTotal(file)
		good := rows[file] - bad
		if frac := float64(bad) / float64(good); frac < 0.04 || frac > 0.06 {
			t.Errorf("%s: %d bad rows for %d good ones (%.3f), want about 0.05", file, bad, good, frac)
		}
		if got, want := len(c.Bad[file]), len(badKinds[i]); got != want {
			t.Errorf("%s: %d kinds of bad rows, want %d: %v", file, got, want, c.Bad[file])
		}
	}
}
