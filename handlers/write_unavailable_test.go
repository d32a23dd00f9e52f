package handlers

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

const (
	msgNotWritten   = "nothing was written"
	msgMaybeWritten = "the write may have been saved; retry with the same Idempotency-Key"
)

func unavailable(tb testing.TB, r response, want string) {
	tb.Helper()
	if r.status != 503 || r.retryAfter != "1" || !strings.Contains(r.body, want) {
		tb.Errorf("%d %s (Retry-After %q), want 503 saying %q", r.status, r.body, r.retryAfter, want)
	}
}

// TestWriteNotSent: when no connection can be had (PostgreSQL refuses
// connections to the database), the 503 says nothing was written.
func TestWriteNotSent(t *testing.T) {
	dbURL := testdb.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := testdb.Pool(t)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" ALLOW_CONNECTIONS true") //nolint:errcheck // dropped anyway
	})
	pool, err := pgxpool.New(ctx, dbURL) // no connection opened yet
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := mustServer(t, pool)
	p := product{id: 1, chars: []int32{1}}
	unavailable(t, s.post(t, p.reviewJSON(), "Idempotency-Key", "k"), msgNotWritten)
	unavailable(t, s.putKey(t, "/reviews/1/helpful", "k"), msgNotWritten)
	unavailable(t, s.put(t, "/reviews/1/helpful"), msgNotWritten)
	unavailable(t, s.put(t, "/reviews/1/report"), msgNotWritten)
}

// TestWriteMaybeWritten: when the connection is lost after the statement
// was sent (its backend terminated while the statement waits for a lock),
// the 503 says the write may have been saved; a retry with the same key
// then counts it exactly once.
func TestWriteMaybeWritten(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 2)
	id := createdID(t, s.post(t, p.reviewJSON()))
	admin := testdb.Pool(t)

	// cut sends req while lock holds a row lock the write needs, terminates
	// the write's backend once it waits for that lock, and returns the
	// answer.
	cut := func(lock string, args []any, req func() response) response {
		t.Helper()
		ctx := context.Background()
		tx, err := admin.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // may be done already
		if _, err := tx.Exec(ctx, lock, args...); err != nil {
			t.Fatal(err)
		}
		answer := make(chan response, 1)
		go func() { answer <- req() }()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var pid int32
			err := admin.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`).Scan(&pid)
			if err == nil {
				if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
					t.Fatal(err)
				}
				break
			}
			if err != pgx.ErrNoRows {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("the write never waited for the lock")
			}
			time.Sleep(10 * time.Millisecond)
		}
		r := <-answer
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("Helpful", func(t *testing.T) {
		path, key := fmt.Sprintf("/reviews/%d/helpful", id), keyFor(p, "cut-vote")
		r := cut("SELECT FROM reviews WHERE id = $1 FOR UPDATE", []any{id}, func() response { return s.putKey(t, path, key) })
		unavailable(t, r, msgMaybeWritten)
		noContent(t, s.putKey(t, path, key))
		noContent(t, s.putKey(t, path, key))
		if h, _ := helpfulness(t, s, id); h != 1 {
			t.Fatalf("helpfulness %d after a cut vote and two retries with its key, want 1", h)
		}
	})

	t.Run("Post", func(t *testing.T) {
		key := keyFor(p, "cut-post")
		before := reviewsOf(t, s, p)
		r := cut("SELECT FROM characteristics WHERE product_id = $1 FOR UPDATE", []any{p.id}, func() response {
			return s.post(t, p.reviewJSON(), "Idempotency-Key", key)
		})
		unavailable(t, r, msgMaybeWritten)
		first := s.post(t, p.reviewJSON(), "Idempotency-Key", key)
		createdID(t, first)
		if again := s.post(t, p.reviewJSON(), "Idempotency-Key", key); again.body != first.body {
			t.Fatalf("retry %s, first %s", again.body, first.body)
		}
		if n := reviewsOf(t, s, p); n != before+1 {
			t.Fatalf("%d reviews, want %d", n, before+1)
		}
	})

	t.Run("Report", func(t *testing.T) {
		r := cut("SELECT FROM characteristics WHERE product_id = $1 FOR UPDATE", []any{p.id}, func() response {
			return s.put(t, fmt.Sprintf("/reviews/%d/report", id))
		})
		unavailable(t, r, msgMaybeWritten)
	})
}
