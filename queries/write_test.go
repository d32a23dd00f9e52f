package queries

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

// TestWriteErrorDeadlines: a write that times out says whether it may have
// been saved. Waiting for a connection of a full pool sends nothing; waiting
// for PostgreSQL's answer (the review row locked) may have committed.
func TestWriteErrorDeadlines(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := New(pool)
	var id int32
	err = pool.QueryRow(ctx, `INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
		VALUES (7000001, 5, now(), 's', 'b', true, 'n', 'e@x') RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	vote := func() *WriteError {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, _, err := s.MarkHelpful(c, id, nil)
		var we *WriteError
		if !errors.As(err, &we) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("MarkHelpful: %v, want a *WriteError from the deadline", err)
		}
		return we
	}

	held, err := pool.Acquire(ctx) // the pool's only connection
	if err != nil {
		t.Fatal(err)
	}
	if we := vote(); we.MaybeWritten {
		t.Errorf("no connection to be had: %v, want nothing written", we)
	}
	held.Release()

	locker := testdb.Pool(t)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	if _, err := tx.Exec(ctx, "SELECT FROM reviews WHERE id = $1 FOR UPDATE", id); err != nil {
		t.Fatal(err)
	}
	if we := vote(); !we.MaybeWritten {
		t.Errorf("the statement sent, no answer: %v, want maybe written", we)
	}
}
