package etl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catwalk/reviews/etl"
)

// refused loads dir with opt and checks the load was refused with an error
// naming want, and that the served data did not change.
func refused(t *testing.T, conn pgxConn, opt etl.Options, want ...string) {
	t.Helper()
	before := snapshot(t, conn)
	if opt.RejectsDir == "" {
		opt.RejectsDir = t.TempDir()
	}
	_, err := etl.Load(t.Context(), conn.url, opt)
	if err == nil {
		t.Fatalf("load of %s succeeded, want it refused (%s)", opt.Dir, strings.Join(want, ", "))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("load error %q does not say %q", err, w)
		}
	}
	equalLists(t, "served data after a refused load", snapshot(t, conn), before)
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRefusesImplausible: a load whose result looks like a broken export
// is refused before the switch-over, with the file and the reason, and the
// served data stays.
func TestLoadRefusesImplausible(t *testing.T) {
	dir, _ := generate(t, 200, 0)
	conn := connect(t)
	mustLoad(t, conn, dir)

	t.Run("header only", func(t *testing.T) {
		d := copyDir(t, dir)
		b, _ := os.ReadFile(filepath.Join(d, etl.ReviewsFile))
		header, _, _ := strings.Cut(string(b), "\n")
		writeFile(t, filepath.Join(d, etl.ReviewsFile), header+"\n")
		refused(t, conn, etl.Options{Dir: d, MaxRejectRatio: 1, AllowShrink: true}, "reviews.csv", "no valid rows", etl.ErrImplausible.Error())
	})
	t.Run("stray quote", func(t *testing.T) {
		// One quote at the start of the first record opens a field that
		// never closes. In a file smaller than MaxRecordBytes the rest of
		// the file is that one broken record (API.md): no valid rows, the
		// load is refused. In a bigger one, once past MaxRecordBytes, the
		// record is rejected with its first line and the lines after it
		// are read again: the load costs that one row.
		stray := func(src string) (string, int64, int) {
			d := copyDir(t, src)
			path := filepath.Join(d, etl.CharacteristicReviewsFile)
			b, _ := os.ReadFile(path)
			header, rest, _ := strings.Cut(string(b), "\n")
			writeFile(t, path, header+"\n\""+rest)
			return d, int64(strings.Count(rest, "\n")), len(rest)
		}
		small, _, size := stray(dir)
		if size >= etl.MaxRecordBytes {
			t.Fatalf("characteristic_reviews.csv of %d bytes: want it under %d", size, etl.MaxRecordBytes)
		}
		refused(t, conn, etl.Options{Dir: small}, "characteristic_reviews.csv", "no valid rows")

		big, _ := generate(t, 1000, 0)
		d, lines, size := stray(big)
		if size <= 2*etl.MaxRecordBytes {
			t.Fatalf("characteristic_reviews.csv of %d bytes: want it over %d", size, 2*etl.MaxRecordBytes)
		}
		sum, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: d, RejectsDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		st := sum.Stats(etl.CharacteristicReviewsFile)
		if st.Rejected != 1 || st.RejectedLines != 1 || st.Loaded != lines-1 {
			t.Errorf("stray quote: loaded %d, rejected %d in %d lines; want %d, 1 in 1", st.Loaded, st.Rejected, st.RejectedLines, lines-1)
		}
		if _, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: dir, RejectsDir: t.TempDir(), AllowShrink: true}); err != nil {
			t.Fatal(err) // back to the first data
		}
	})
	t.Run("reject share", func(t *testing.T) {
		dirty, _ := generate(t, 200, 0.1)
		refused(t, conn, etl.Options{Dir: dirty}, "reviews.csv", "lines rejected", "--max-reject-ratio")
		// Told to accept that much, the same files load.
		if _, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: dirty, RejectsDir: t.TempDir(), MaxRejectRatio: 0.5}); err != nil {
			t.Fatalf("load with --max-reject-ratio 0.5: %v", err)
		}
		mustLoad(t, conn, dir) // back to the clean data
	})
	t.Run("shrink", func(t *testing.T) {
		small, _ := generate(t, 100, 0)
		refused(t, conn, etl.Options{Dir: small}, "reviews.csv", "--allow-shrink")
		if _, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: small, RejectsDir: t.TempDir(), AllowShrink: true}); err != nil {
			t.Fatalf("load with --allow-shrink: %v", err)
		}
		// Into an empty database, nothing shrinks.
		empty := connect(t)
		if _, err := etl.Load(t.Context(), empty.url, etl.Options{Dir: small, RejectsDir: t.TempDir()}); err != nil {
			t.Fatalf("load into an empty database: %v", err)
		}
	})
}

// TestLoadRejectsUnwritable: rejects that cannot be written (a full disk, a
// rejects directory that cannot be made) fail the load before the
// switch-over; the served data stays.
func TestLoadRejectsUnwritable(t *testing.T) {
	dir, _ := generate(t, 100, 0)
	conn := connect(t)
	mustLoad(t, conn, dir)
	dirty, _ := generate(t, 120, 0.01)

	t.Run("disk full", func(t *testing.T) {
		// /dev/full answers every write with ENOSPC, like a full disk.
		rejects := t.TempDir()
		if err := os.Symlink("/dev/full", filepath.Join(rejects, etl.ReviewsFile)); err != nil {
			t.Fatal(err)
		}
		refused(t, conn, etl.Options{Dir: dirty, RejectsDir: rejects, MaxRejectRatio: 1}, "reviews.csv: rejects file", "no space left on device")
	})
	t.Run("not a directory", func(t *testing.T) {
		// Root ignores permissions, so a read-only directory is played by
		// a path under a regular file.
		file := filepath.Join(t.TempDir(), "file")
		writeFile(t, file, "")
		refused(t, conn, etl.Options{Dir: dirty, RejectsDir: filepath.Join(file, "rejects"), MaxRejectRatio: 1}, "rejects directory")
	})
}

// TestLoadShrinkIgnoresAPIRows: the reviews written through the API are
// carried over, so they do not count as served rows a file must replace.
func TestLoadShrinkIgnoresAPIRows(t *testing.T) {
	dir, _ := generate(t, 100, 0)
	conn := connect(t)
	sum := mustLoad(t, conn, dir)
	// As many API reviews as loaded ones (inserted without via_api, as the
	// API does), with photos and values.
	if _, err := conn.conn.Exec(t.Context(), `WITH r AS (
		INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
		SELECT 1 + g % 100, 4, now(), 's', 'b', true, 'n', 'e' FROM generate_series(1, $1::int) g RETURNING id, product_id)
		INSERT INTO characteristic_reviews (characteristic_id, review_id, value)
		SELECT c.id, r.id, 3 FROM r JOIN characteristics c ON c.product_id = r.product_id`, sum.Stats(etl.ReviewsFile).Loaded); err != nil {
		t.Fatal(err)
	}
	if _, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: dir, RejectsDir: t.TempDir()}); err != nil {
		t.Fatalf("loading the same files again: %v", err)
	}
}
