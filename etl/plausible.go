package etl

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/catwalk/reviews/schema"
)

// fileTables names the served table each file loads.
var fileTables = map[string]string{
	ReviewsFile:               "reviews",
	PhotosFile:                "reviews_photos",
	CharacteristicsFile:       "characteristics",
	CharacteristicReviewsFile: "characteristic_reviews",
}

// countServed counts the rows each file would replace, for the shrink
// check: the rows its table serves now that came from files (the API's
// reviews, their photos and their values are carried over by the
// switch-over, so they do not count against a new file). It runs beside
// the load, on a connection of its own.
func (l *loader) countServed(ctx context.Context) error {
	served := make(map[string]int64, len(Files))
	for _, name := range Files {
		var n int64
		if err := l.pool.QueryRow(ctx, schema.ETLCountServed(fileTables[name])).Scan(&n); err != nil {
			return fmt.Errorf("count the rows %s serves: %w", fileTables[name], err)
		}
		served[name] = n
	}
	l.served = served
	return nil
}

// checkPlausible refuses a load whose result looks like a broken export
// rather than data, before anything served changes: a file without a single
// valid row, a file with more than MaxRejectRatio of its lines rejected, or
// (without AllowShrink) a file that keeps fewer than ShrinkFloor of the rows
// its table serves now from earlier files. An empty table is never shrunk.
func (l *loader) checkPlausible() error {
	for _, st := range l.summary.Files {
		rejects := filepath.Join(l.opt.RejectsDir, st.File)
		if st.Loaded == 0 {
			return fmt.Errorf("%w: %s has no valid rows (%d rejected, see %s)", ErrImplausible, st.File, st.Rejected, rejects)
		}
		if st.Lines > 0 {
			if share := float64(st.RejectedLines) / float64(st.Lines); share > l.opt.MaxRejectRatio {
				return fmt.Errorf("%w: %s: %.1f%% of its lines rejected (%d of %d, in %d records; see %s), more than the %.1f%% allowed (--max-reject-ratio)",
					ErrImplausible, st.File, 100*share, st.RejectedLines, st.Lines, st.Rejected, rejects, 100*l.opt.MaxRejectRatio)
			}
		}
		if served := l.served[st.File]; !l.opt.AllowShrink && served > 0 && float64(st.Loaded) < ShrinkFloor*float64(served) {
			return fmt.Errorf("%w: %s has %d valid rows to replace the %d loaded rows %s serves now (less than %.0f%% of them); pass --allow-shrink to load it anyway",
				ErrImplausible, st.File, st.Loaded, served, fileTables[st.File], 100*ShrinkFloor)
		}
	}
	return nil
}
