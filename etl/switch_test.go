package etl_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/etl"
)

// holdReader opens a transaction that has read reviews and keeps it open,
// like a long report query: it holds a lock the switch-over conflicts with.
// end commits it.
func holdReader(t *testing.T, d db) (end func()) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), d.url)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := tx.QueryRow(t.Context(), "SELECT count(*) FROM reviews").Scan(&n); err != nil {
		t.Fatal(err)
	}
	var once bool
	end = func() {
		if once {
			return
		}
		once = true
		tx.Commit(context.Background())
		conn.Close(context.Background())
	}
	t.Cleanup(end)
	return end
}

// apiLike runs the statements the API runs (a list page, meta, a vote) on
// a connection of its own whose lock_timeout is 1 s: a statement that
// waits longer than that behind a lock fails.
type apiLike struct {
	conn *pgx.Conn
	n    int
}

func newAPILike(t *testing.T, d db) *apiLike {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), d.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), "SET lock_timeout = '1s'"); err != nil {
		t.Fatal(err)
	}
	return &apiLike{conn: conn}
}

func (a *apiLike) round(ctx context.Context) error {
	a.n++
	product := 1 + a.n%50
	for _, q := range []string{
		`SELECT id, rating, summary, photos::text FROM reviews WHERE product_id = $1 AND NOT reported ORDER BY date DESC, id DESC LIMIT 5`,
		`SELECT c.id, c.value_sum, m.rating_5 FROM characteristics c LEFT JOIN product_meta m ON m.product_id = c.product_id WHERE c.product_id = $1`,
		`UPDATE reviews SET helpfulness = helpfulness + 1 WHERE id = (SELECT min(id) FROM reviews WHERE product_id = $1)`,
	} {
		if _, err := a.conn.Exec(ctx, q, product); err != nil {
			return fmt.Errorf("API-like statement waited more than 1 s (or failed): %w", err)
		}
	}
	return nil
}

// TestSwitchWaitsWithoutBlocking holds a long read on reviews while a load
// reaches its switch-over: the API-like statements never wait behind the
// switch for more than a second, and the load switches once the reader ends.
func TestSwitchWaitsWithoutBlocking(t *testing.T) {
	first, _ := generate(t, 100, 0)
	second, _ := generate(t, 120, 0)
	conn := connect(t)
	mustLoad(t, conn, first)
	api := newAPILike(t, conn)

	var attempts atomic.Int32
	defer etl.SetSwitchWaited(func(n int) { attempts.Store(int32(n)) })()
	end := holdReader(t, conn)

	type result struct {
		sum *etl.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: second, RejectsDir: t.TempDir(), SwitchTimeout: 10 * time.Minute})
		done <- result{sum, err}
	}()
	// Serve until the switch-over has found the table locked five times
	// (each attempt queues for its lock once).
	rounds := 0
	for attempts.Load() < 5 {
		if err := api.round(t.Context()); err != nil {
			t.Fatalf("after %d switch attempts: %v", attempts.Load(), err)
		}
		rounds++
		select {
		case r := <-done:
			t.Fatalf("load ended while the reader held reviews: %v", r.err)
		default:
		}
	}
	if rounds == 0 {
		t.Fatal("no API-like statement ran while the switch-over waited")
	}
	end()
	r := <-done
	if r.err != nil {
		t.Fatalf("load after the reader ended: %v", r.err)
	}
	if r.sum.SwitchAttempts < 6 {
		t.Errorf("switch attempts %d, want more than the 5 that met the reader", r.sum.SwitchAttempts)
	}
	if got, want := queryStrings(t, conn, "SELECT count(*) FROM reviews")[0], fmt.Sprint(r.sum.Stats(etl.ReviewsFile).Loaded); got != want {
		t.Errorf("%s reviews served after the switch, want the %s loaded", got, want)
	}
	if err := api.round(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestSwitchGivesUp holds the reader past the switch timeout: the load
// fails with a clear error, the served data is untouched, the staging tables
// stay until the next load drops them.
func TestSwitchGivesUp(t *testing.T) {
	first, _ := generate(t, 100, 0)
	second, _ := generate(t, 120, 0)
	conn := connect(t)
	mustLoad(t, conn, first)
	before := snapshot(t, conn)
	api := newAPILike(t, conn)
	end := holdReader(t, conn)

	var attempts atomic.Int32
	defer etl.SetSwitchWaited(func(n int) { attempts.Store(int32(n)) })()
	// Without a bounded wait the load would hang; the context ends the test.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := etl.Load(ctx, conn.url, etl.Options{Dir: second, RejectsDir: t.TempDir(), SwitchTimeout: 2 * time.Second})
		done <- err
	}()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		default:
		}
		if err := api.round(t.Context()); err != nil {
			t.Fatalf("after %d switch attempts: %v", attempts.Load(), err)
		}
	}
	if !errors.Is(err, etl.ErrSwitchTimeout) {
		t.Fatalf("load: %v, want %v", err, etl.ErrSwitchTimeout)
	}
	if !strings.Contains(err.Error(), "pid ") {
		t.Errorf("error %q does not name the session in the way", err)
	}
	end()
	// The votes changed the reviews' content: compare the rest.
	after := snapshot(t, conn)
	for i := 1; i < len(before); i++ { // [0] is the reviews' content, voted on
		if before[i] != after[i] {
			t.Errorf("served data changed by a load that gave up: %s, was %s", after[i], before[i])
		}
	}
	if n := queryStrings(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'load\\_%'")[0]; n != "5" {
		t.Errorf("%s staging tables after the give-up, want the 5 left for the next load", n)
	}
	mustLoad(t, conn, second)
	if n := queryStrings(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'load\\_%'")[0]; n != "0" {
		t.Errorf("%s staging tables after the next load", n)
	}
}
