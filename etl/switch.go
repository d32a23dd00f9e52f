package etl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/schema"
)

// DefaultSwitchTimeout bounds how long the switch-over keeps trying to take
// the served tables' locks before the load gives up.
const DefaultSwitchTimeout = 60 * time.Second

// switchLockTimeout is the longest the switch-over waits for any one lock.
// While it waits for the exclusive lock on a served table, every request
// that touches the table queues behind it; so it waits briefly, gives up,
// lets the queue drain, and tries again.
const switchLockTimeout = 150 * time.Millisecond

// The pauses between attempts grow from the first to the last.
const (
	firstSwitchPause = 50 * time.Millisecond
	lastSwitchPause  = time.Second
)

// ErrSwitchTimeout is returned (wrapped, naming what held the tables) when
// the switch-over could not take its locks within the switch timeout. The
// served data is untouched; the staging tables stay for the next load to
// drop.
var ErrSwitchTimeout = errors.New("switch-over gave up waiting for the served tables")

// servedTables are the tables a load replaces, in the order the switch-over
// locks them.
var servedTables = []string{"reviews", "reviews_photos", "characteristics", "characteristic_reviews", "product_meta"}

// switchWaited, when set (tests), is called after each attempt that found
// a table locked.
var switchWaited func(attempt int)

// preCarried, when set (tests), is called between the carry-over before the
// switch and the switch-over.
var preCarried func()

// preCarry copies the API's reviews, and its votes and reports on loaded
// reviews, into the staging tables before the switch-over, in a
// transaction that locks nothing the API uses, so the switch-over copies
// only the few written since (see carry.go).
func (l *loader) preCarry(ctx context.Context, conn *pgxpool.Conn) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, schema.ETLNoJIT); err != nil {
			return err
		}
		// No staging row is carried yet: this carries the votes and reports
		// on loaded reviews.
		if err := resync(ctx, tx, false); err != nil {
			return fmt.Errorf("carry over the API's votes and reports: %w", err)
		}
		floors, err := idFloors(ctx, tx)
		if err != nil {
			return err
		}
		n, err := carryOver(ctx, tx, floors)
		l.summary.Carried = n
		return err
	})
	if err == nil && preCarried != nil {
		preCarried()
	}
	return err
}

// switchOver replaces the served tables with the staging tables in one
// transaction, retrying while other transactions hold the served tables.
func (l *loader) switchOver(ctx context.Context, conn *pgxpool.Conn) error {
	deadline := time.Now().Add(l.opt.SwitchTimeout)
	pause := firstSwitchPause
	for attempt := 1; ; attempt++ {
		l.summary.SwitchAttempts = attempt
		var carried int64
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var err error
			carried, err = switchTx(ctx, tx)
			return err
		})
		if err == nil {
			l.summary.Carried += carried
			return nil
		}
		if ctx.Err() != nil || !lockBusy(err) {
			return err
		}
		if switchWaited != nil {
			switchWaited(attempt)
		}
		// Some jitter, so two waiters do not keep meeting.
		sleep := pause/2 + rand.N(pause)
		if time.Now().Add(sleep).After(deadline) {
			held := blockers(ctx, conn)
			return fmt.Errorf("%w after %d attempts in %s (--switch-timeout; held by %s); served data unchanged, the staging tables are left for the next load to drop",
				ErrSwitchTimeout, attempt, l.opt.SwitchTimeout, held)
		}
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
			return ctx.Err()
		}
		pause = min(2*pause, lastSwitchPause)
	}
}

// lockBusy reports whether err is a lock the switch-over could not get in
// time (or a deadlock with a writer): worth another attempt.
func lockBusy(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "55P03", // lock_not_available: lock_timeout
		"40P01": // deadlock_detected
		return true
	}
	return false
}

// blockers describes the sessions holding locks on the served tables.
func blockers(ctx context.Context, conn *pgxpool.Conn) string {
	var s *string
	err := conn.QueryRow(ctx, schema.ETLBlockers, servedTables).Scan(&s)
	switch {
	case err != nil:
		return "sessions unknown: " + err.Error()
	case s == nil:
		return "nobody any more"
	}
	return *s
}

// switchTx is one attempt at the switch-over: it takes every served table
// (each lock wait bounded by switchLockTimeout), carries over what the API
// wrote since the carry-over before the switch, swaps the tables in, sets every sequence past
// every id ever handed out, drops the idempotency keys of reviews that are
// gone and tells serving instances to clear their caches. It returns the
// reviews carried over.
func switchTx(ctx context.Context, tx pgx.Tx) (int64, error) {
	if _, err := tx.Exec(ctx, schema.ETLLockTimeout(switchLockTimeout)); err != nil {
		return 0, err
	}
	// The carry-over's statements touch a few rows each by index, but their
	// estimates (a JSON array's elements, an id list) can pass jit_above_cost,
	// and compiling them would cost seconds with every table locked.
	if _, err := tx.Exec(ctx, schema.ETLNoJIT); err != nil {
		return 0, err
	}
	// With the tables locked, every statement has an index path to the few
	// rows it needs; a scan of a served table would hold the locks for
	// seconds. Estimates can be off (the staged rows are newer than their
	// statistics), so scans are taken out of the planner's choices.
	if _, err := tx.Exec(ctx, schema.ETLNoSeqScan); err != nil {
		return 0, err
	}
	// One statement for all five: the first lock that cannot be had within
	// the timeout ends the attempt and releases those taken.
	if _, err := tx.Exec(ctx, schema.ETLLockTables(servedTables)); err != nil {
		return 0, err
	}
	floors, err := idFloors(ctx, tx)
	if err != nil {
		return 0, err
	}
	// What the API did since carryOver ran before the switch.
	if err := resync(ctx, tx, true); err != nil {
		return 0, fmt.Errorf("carry over the API's votes and reports: %w", err)
	}
	carried, err := carryOver(ctx, tx, floors)
	if err != nil {
		return 0, fmt.Errorf("carry over the API's reviews: %w", err)
	}
	if _, err := tx.Exec(ctx, schema.ETLSwitch()); err != nil {
		return 0, err
	}
	// Identity sequences continue past the largest id served now and past
	// every id handed out before (the old sequences): an id is never
	// issued twice, even to a review that is gone.
	for _, t := range idTables {
		if _, err := tx.Exec(ctx, schema.ETLSetSequence(t), t, floors[t]); err != nil {
			return 0, fmt.Errorf("sequence of %s: %w", t, err)
		}
	}
	// A key answers only for a review written through the API that is still
	// served: the keys of reviews not carried over go with them.
	if _, err := tx.Exec(ctx, schema.ETLDeleteStaleKeys); err != nil {
		return 0, fmt.Errorf("idempotency keys: %w", err)
	}
	// Serving instances drop every cached response at commit.
	if _, err := tx.Exec(ctx, schema.InvalidateNotify, schema.InvalidateChannel, schema.InvalidateAll); err != nil {
		return 0, err
	}
	return carried, nil
}

// idTables are the tables whose ids come from an identity sequence.
var idTables = []string{"reviews", "reviews_photos", "characteristics", "characteristic_reviews"}

// idFloors returns idFloor of every table with ids.
func idFloors(ctx context.Context, tx pgx.Tx) (map[string]int64, error) {
	floors := map[string]int64{}
	for _, t := range idTables {
		f, err := idFloor(ctx, tx, t)
		if err != nil {
			return nil, err
		}
		floors[t] = f
	}
	return floors, nil
}

// idFloor returns the largest id of table that is served or was ever handed
// out by the sequence of its id column. Table names are constants of this
// package; the sequence's name comes from the catalog, quoted.
func idFloor(ctx context.Context, tx pgx.Tx, table string) (int64, error) {
	var seq string
	if err := tx.QueryRow(ctx, schema.ETLSequence, table).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sequence of %s: %w", table, err)
	}
	var floor int64
	err := tx.QueryRow(ctx, schema.ETLIDFloor(table, seq)).Scan(&floor)
	if err != nil {
		return 0, fmt.Errorf("ids of %s: %w", table, err)
	}
	return floor, nil
}
