// Package etl loads the four source CSV files into PostgreSQL: it validates
// every row, streams the valid ones with binary COPY into staging tables
// (one transaction per table, several tables at a time), computes the read
// model (photos JSON, product_meta, characteristic sums) while streaming,
// builds the indexes after the bulk load, and switches the staging tables in
// for the served ones in one last transaction. A bad row goes to a rejects
// file with its line and reason; it never stops the load.
package etl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/catwalk/reviews/progress"
	"github.com/catwalk/reviews/schema"
)

// lockID serialises loads: a second etl waits for the first to finish.
const lockID int64 = 0x63617477616c6b + 1

// Options configure a load.
type Options struct {
	Dir        string    // directory holding the four files
	RejectsDir string    // where rejects files go; "" means Dir/rejects
	Progress   io.Writer // progress output; nil for none
	// Display, when set, shows the progress instead of a new Display on
	// Progress, so the caller can export it too (WritePrometheus).
	// Load closes it.
	Display *progress.Display

	// MaxRejectRatio is the largest share of a file's lines that may be
	// rejected (0 to 1); a file with more is refused and nothing switches.
	// 0 means DefaultMaxRejectRatio.
	MaxRejectRatio float64
	// AllowShrink lets a file replace served data with fewer than
	// ShrinkFloor of its rows (see checkPlausible).
	AllowShrink bool
	// SwitchTimeout bounds how long the switch-over keeps trying to take
	// its locks; 0 means DefaultSwitchTimeout.
	SwitchTimeout time.Duration
}

// DefaultMaxRejectRatio refuses a file when more than 5% of its lines are
// rejected. The bad rows of an export are a few kinds of one-off slips (the
// generator's --dirty models them; the README's example and the read
// oracle's dataset use 1-2%, and a multi-line reject weighs its lines, so
// 2% of bad rows is about 2.1% of lines); a share well above that means the
// file itself is wrong (columns in another order, another file under this
// name, a truncated or re-encoded export) and loading it would silently
// drop a large part of the data. An operator who has read the rejects and
// still wants the load passes a higher ratio.
const DefaultMaxRejectRatio = 0.05

// ShrinkFloor: a file that keeps fewer rows than this share of the rows its
// table serves now is taken for a broken export, unless AllowShrink. Exports
// grow; losing a tenth of the data at once is not a refresh.
const ShrinkFloor = 0.9

// ErrImplausible is returned (wrapped, with the file and the reason) when a
// load is refused before the switch-over: the served data is untouched.
var ErrImplausible = errors.New("refusing to switch over")

// signedProduct is what later files need to know of a kept review: its
// product id, negated when the review is reported. Zero: no such review.
type signedProduct = int32

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
	pool    *pgxpool.Pool
	display *progress.Display
	began   time.Time

	mu      sync.Mutex // guards summary.Phases
	summary Summary

	// Written by one stage, read by later ones once a channel says so.
	reviews   idTable[signedProduct]
	photos    idTable[bool]
	chars     idTable[characteristic]
	charRevs  idTable[bool]
	feed      *feedSender // kept reviews, to the characteristic_reviews pass
	products  idTable[meta]
	mergeSum  uint64           // photos embedded while streaming reviews
	photosSum uint64           // photos loaded; equal to mergeSum when the merge was complete
	sorted    bool             // the merge found both files in review id order
	served    map[string]int64 // rows each file's table serves now, by file
}

// Load loads the files of opt.Dir into the database at dbURL, replacing its
// reviews data. Each table is loaded, indexed and analyzed in a staging
// table of its own, several at a time, and one last transaction puts them
// all in place: a failed or interrupted load leaves the served data as it
// was, and a repeated load gives the same state.
func Load(ctx context.Context, dbURL string, opt Options) (*Summary, error) {
	if opt.RejectsDir == "" {
		opt.RejectsDir = filepath.Join(opt.Dir, "rejects")
	}
	for _, name := range Files {
		if _, err := os.Stat(filepath.Join(opt.Dir, name)); err != nil {
			return nil, err
		}
	}
	if opt.MaxRejectRatio == 0 {
		opt.MaxRejectRatio = DefaultMaxRejectRatio
	}
	if opt.MaxRejectRatio < 0 || opt.MaxRejectRatio > 1 {
		return nil, fmt.Errorf("max reject ratio %v: want a share between 0 and 1", opt.MaxRejectRatio)
	}
	if opt.SwitchTimeout <= 0 {
		opt.SwitchTimeout = DefaultSwitchTimeout
	}
	if err := os.MkdirAll(opt.RejectsDir, 0o755); err != nil {
		return nil, fmt.Errorf("rejects directory: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 12 // a connection per table, the lock, and the index progress
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if opt.Display == nil {
		opt.Display = progress.NewDisplay(opt.Progress)
	}
	l := &loader{opt: opt, pool: pool, began: time.Now(), display: opt.Display, feed: newFeed()}
	for _, name := range Files {
		l.summary.Files = append(l.summary.Files, FileStats{File: name})
	}
	err = l.run(ctx)
	l.display.Close()
	if err != nil {
		return nil, err
	}
	l.summary.Total = time.Since(l.began)
	slices.SortStableFunc(l.summary.Phases, func(a, b Phase) int { return cmp.Compare(a.Start, b.Start) })
	return &l.summary, nil
}

func (l *loader) run(ctx context.Context) error {
	lock, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer lock.Release()
	if _, err := lock.Exec(ctx, schema.AdvisoryLock, lockID); err != nil {
		return err
	}
	defer lock.Exec(context.WithoutCancel(ctx), schema.AdvisoryUnlock, lockID) //nolint:errcheck // the session ends anyway
	if _, err := lock.Exec(ctx, schema.ETLDropStaging()); err != nil {
		return err
	}

	var (
		reviewsCopied   = make(chan struct{})
		charsChecked    = make(chan struct{})
		photosCommitted = make(chan struct{})
		charRevsCopied  = make(chan struct{})
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return l.phase("count served rows", func() error { return l.countServed(gctx) })
	})
	g.Go(func() error {
		return l.table(gctx, "reviews", func(tx pgx.Tx) error {
			if err := l.loadReviews(gctx, tx); err != nil {
				return err
			}
			close(reviewsCopied)
			if l.sorted {
				return nil
			}
			// Fill the photos in before the indexes exist.
			if err := wait(gctx, photosCommitted); err != nil {
				return err
			}
			return l.phase("reviews: photos (update)", func() error {
				_, err := tx.Exec(gctx, schema.ETLFillPhotos("load_reviews", "load_reviews_photos"))
				return err
			})
		})
	})
	g.Go(func() error {
		err := l.phase("characteristics: check", func() error { return l.checkCharacteristics(gctx) })
		if err == nil {
			close(charsChecked)
		}
		return err
	})
	g.Go(func() error {
		if err := wait(gctx, reviewsCopied); err != nil {
			return err
		}
		err := l.table(gctx, "reviews_photos", func(tx pgx.Tx) error { return l.loadPhotos(gctx, tx) })
		if err == nil {
			close(photosCommitted)
		}
		return err
	})
	g.Go(func() error {
		if err := wait(gctx, charsChecked); err != nil {
			return err
		}
		recv := &feedReceiver{ch: l.feed.ch}
		streamed := func(rid int32) (signedProduct, error) { return recv.review(gctx, rid) }
		err := l.table(gctx, "characteristic_reviews", func(tx pgx.Tx) error {
			if err := l.loadCharacteristicReviews(gctx, tx, streamed); err != nil {
				return err
			}
			// The sums are right once the whole reviews pass has
			// confirmed the order.
			if err := recv.drain(gctx); err != nil {
				return err
			}
			close(charRevsCopied)
			return nil
		})
		if !errors.Is(err, errUnsorted) {
			return err
		}
		// The reviews are out of order: start again once they are all known.
		if err := wait(gctx, reviewsCopied); err != nil {
			return err
		}
		settled := func(rid int32) (signedProduct, error) { return l.reviews.get(rid), nil }
		return l.table(gctx, "characteristic_reviews", func(tx pgx.Tx) error {
			if err := l.loadCharacteristicReviews(gctx, tx, settled); err != nil {
				return err
			}
			close(charRevsCopied)
			return nil
		})
	})
	g.Go(func() error {
		if err := wait(gctx, charRevsCopied); err != nil {
			return err
		}
		return l.table(gctx, "characteristics", func(tx pgx.Tx) error { return l.loadCharacteristics(gctx, tx) })
	})
	g.Go(func() error {
		if err := wait(gctx, reviewsCopied); err != nil {
			return err
		}
		return l.table(gctx, "product_meta", func(tx pgx.Tx) error { return l.loadProductMeta(gctx, tx) })
	})
	if err := g.Wait(); err != nil {
		return err
	}
	l.summary.PhotosMerged = l.sorted && l.mergeSum == l.photosSum
	if err := l.checkPlausible(); err != nil {
		return err
	}
	if l.sorted && !l.summary.PhotosMerged {
		// The merge met photos it could not place (rare: a repeated photo
		// id out of order); fill them all in once more, before the
		// switch-over, so no lock on served tables waits for it.
		if err := l.phase("reviews: photos (update)", func() error {
			_, err := lock.Exec(ctx, schema.ETLFillPhotos("load_reviews", "load_reviews_photos"))
			return err
		}); err != nil {
			return err
		}
	}
	if err := l.phase("carry over the API's reviews", func() error { return l.preCarry(ctx, lock) }); err != nil {
		return err
	}
	return l.phase("switch", func() error { return l.switchOver(ctx, lock) })
}

// wait blocks until every channel is closed or ctx ends.
func wait(ctx context.Context, chans ...chan struct{}) error {
	for _, c := range chans {
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// table loads one table in a transaction of its own: it creates the staging
// table, runs fill to copy the rows, builds the indexes, analyzes and
// commits. The staging table is served only after the switch.
func (l *loader) table(ctx context.Context, name string, fill func(pgx.Tx) error) error {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	create, indexes := schema.ETLStaging(name)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, schema.ETLMaintenanceMem); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, create); err != nil {
			return err
		}
		if err := l.phase(name+": copy", func() error { return fill(tx) }); err != nil {
			return err
		}
		if err := l.phase(name+": indexes", func() error {
			stop := l.watchIndexes(ctx, name, tx.Conn().PgConn().PID(), schema.ETLCountStatements(indexes))
			defer stop()
			if _, err := tx.Exec(ctx, indexes); err != nil {
				return err
			}
			return copyOtherIndexes(ctx, tx, name)
		}); err != nil {
			return err
		}
		return l.phase(name+": analyze", func() error {
			_, err := tx.Exec(ctx, schema.ETLAnalyze(name))
			return err
		})
	})
}
