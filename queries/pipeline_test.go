package queries

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

// holdSlots takes every slot of p, so that statements queue up until the
// returned function gives the slots back and one leader takes them all.
func holdSlots(p *readPipe) (release func()) {
	for range cap(p.slots) {
		p.slots <- struct{}{}
	}
	return func() {
		for range cap(p.slots) {
			<-p.slots
		}
	}
}

// waitQueued waits until n statements wait in p's queue.
func waitQueued(t *testing.T, p *readPipe, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		q := len(p.queue)
		p.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d statements queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// textStmt is a test statement with one text column.
func textStmt(sql string) *readStmt { return &readStmt{sql: sql} }

// runText runs st with args on p and returns its first column's values.
func runText(ctx context.Context, p *readPipe, st *readStmt, args ...int64) ([]string, error) {
	var out []string
	err := p.run(ctx, st, func(v [][]byte) error {
		out = append(out, string(v[0]))
		return nil
	}, args...)
	return out, err
}

type result struct {
	vals []string
	err  error
}

// runQueued runs one statement per args entry concurrently while p's slots
// are held, so that all of them are queued before any is sent.
func runQueued(t *testing.T, p *readPipe, st *readStmt, args [][]int64) []result {
	t.Helper()
	release := holdSlots(p)
	out := make([]result, len(args))
	var wg sync.WaitGroup
	for i, a := range args {
		wg.Go(func() { out[i].vals, out[i].err = runText(t.Context(), p, st, a...) })
		waitQueued(t, p, i+1) // keeps the queue in args order
	}
	release()
	wg.Wait()
	return out
}

// TestPipeBatchesQueuedReads: list and meta statements queued together are
// sent as one batch, and each request gets exactly its own rows.
func TestPipeBatchesQueuedReads(t *testing.T) {
	pool := mustPool(t)
	mustExec(t, pool, manyReviewsSQL+`
INSERT INTO product_meta (product_id, rating_1, rating_5, recommend_true) SELECT g, g, 2 * g, 3 * g FROM generate_series(1, 40) g;
INSERT INTO characteristics (product_id, name, value_sum, value_count) SELECT 1 + g % 40, 'c' || g, g, 1 + g % 3 FROM generate_series(1, 120) g;`)
	s := New(pool)

	// What plain pgx queries say, one at a time.
	type want struct {
		list []int32
		meta Meta
	}
	wants := map[int32]want{}
	for prod := int32(1); prod <= 40; prod++ {
		var w want
		rows, _ := pool.Query(t.Context(), ListSQL(Sort(1+prod%3)), prod, int32(7), int64(prod%4))
		ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int32, error) {
			var id int32
			err := r.Scan(&id, nil, nil, nil, nil, nil, nil, nil, nil, nil)
			return id, err
		})
		if err != nil {
			t.Fatal(err)
		}
		w.list = ids
		w.meta.Ratings[0], w.meta.Ratings[4], w.meta.Recommended[1] = prod, 2*prod, 3*prod
		rows, _ = pool.Query(t.Context(), `SELECT id, name, value_sum, value_count FROM characteristics WHERE product_id = $1 ORDER BY id`, prod)
		w.meta.Characteristics, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Characteristic])
		if err != nil {
			t.Fatal(err)
		}
		wants[prod] = w
	}

	release := holdSlots(s.reads)
	batches0, stmts0 := s.reads.batches.Load(), s.reads.statements.Load()
	type got struct {
		list []int32
		meta Meta
		err  error
	}
	gots := make([]got, 41)
	var wg sync.WaitGroup
	for prod := int32(1); prod <= 40; prod++ {
		if prod%2 == 0 {
			wg.Go(func() {
				gots[prod].err = s.ListReviews(t.Context(), prod, Sort(1+prod%3), 7, int64(prod%4), func(r *Review) error {
					gots[prod].list = append(gots[prod].list, r.ID)
					return nil
				})
			})
		} else {
			wg.Go(func() { gots[prod].meta, gots[prod].err = s.ProductMeta(t.Context(), prod) })
		}
	}
	waitQueued(t, s.reads, 40)
	release()
	wg.Wait()

	for prod := int32(1); prod <= 40; prod++ {
		g, w := gots[prod], wants[prod]
		if g.err != nil {
			t.Fatalf("product %d: %v", prod, g.err)
		}
		if prod%2 == 0 {
			if len(w.list) == 0 || !slices.Equal(g.list, w.list) {
				t.Errorf("product %d: list %v, want %v", prod, g.list, w.list)
			}
		} else if fmt.Sprintf("%+v", g.meta) != fmt.Sprintf("%+v", w.meta) || len(w.meta.Characteristics) == 0 {
			t.Errorf("product %d: meta %+v, want %+v", prod, g.meta, w.meta)
		}
	}
	// 40 statements: one batch of maxBatch, one of the rest.
	if b, n := s.reads.batches.Load()-batches0, s.reads.statements.Load()-stmts0; b != 2 || n != 40 {
		t.Errorf("%d statements in %d batches, want 40 in 2", n, b)
	}
}

// TestPipeFailedStatementFailsAlone: a statement PostgreSQL rejects fails
// its own request only; the statements after it in the batch, which
// PostgreSQL skipped, are sent again and answered.
func TestPipeFailedStatementFailsAlone(t *testing.T) {
	s := New(mustPool(t))
	st := textStmt("SELECT (10 / ($1::int - 3))::text")
	b0 := s.reads.batches.Load()
	out := runQueued(t, s.reads, st, [][]int64{{1}, {2}, {3}, {4}, {5}})
	want := []string{"-5", "-10", "", "10", "5"}
	for i, r := range out {
		if i == 2 {
			var pgErr *pgconn.PgError
			if !errors.As(r.err, &pgErr) || pgErr.Code != "22012" {
				t.Errorf("statement 3: error %v, want division_by_zero", r.err)
			}
			continue
		}
		if r.err != nil || len(r.vals) != 1 || r.vals[0] != want[i] {
			t.Errorf("statement %d: %v %v, want %s", i+1, r.vals, r.err, want[i])
		}
	}
	if b := s.reads.batches.Load() - b0; b != 2 {
		t.Errorf("%d batches, want 2 (the skipped statements sent again)", b)
	}
}

// TestPipeRowCallbackErrorFailsAlone: a request whose own row callback
// fails gets that error; the batch goes on for the others.
func TestPipeRowCallbackErrorFailsAlone(t *testing.T) {
	s := New(mustPool(t))
	st := textStmt("SELECT g::text FROM generate_series(1, $1::int) g")
	release := holdSlots(s.reads)
	boom := errors.New("boom")
	var errs [3]error
	var rows [3]int
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			errs[i] = s.reads.run(t.Context(), st, func(v [][]byte) error {
				rows[i]++
				if i == 1 {
					return boom
				}
				return nil
			}, 4)
		})
		waitQueued(t, s.reads, i+1)
	}
	release()
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || rows[0] != 4 || rows[2] != 4 {
		t.Errorf("other requests: %v %v, %d and %d rows", errs[0], errs[2], rows[0], rows[2])
	}
	if errs[1] != boom || rows[1] != 1 {
		t.Errorf("failing request: %v after %d rows, want boom after 1", errs[1], rows[1])
	}
}

// TestPipeCancelWhileQueued: a request whose context ends while its
// statement waits returns at once, and its statement is never sent.
func TestPipeCancelWhileQueued(t *testing.T) {
	s := New(mustPool(t))
	release := holdSlots(s.reads)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := runText(ctx, s.reads, textStmt("SELECT $1::text"), 1)
		done <- err
	}()
	waitQueued(t, s.reads, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	waitQueued(t, s.reads, 0)
	release()
	n0 := s.reads.statements.Load()
	got, err := runText(t.Context(), s.reads, textStmt("SELECT $1::text"), 2)
	if err != nil || !slices.Equal(got, []string{"2"}) {
		t.Fatalf("next request: %v %v", got, err)
	}
	if n := s.reads.statements.Load() - n0; n != 1 {
		t.Errorf("%d statements sent, want 1", n)
	}
}

// TestPipeConnectionLost: when the connection dies under a batch, every
// statement left in it fails, and the next request gets a working
// connection.
func TestPipeConnectionLost(t *testing.T) {
	s := New(mustPool(t))
	kill := textStmt("SELECT pg_terminate_backend(pg_backend_pid())::text WHERE $1::int > 0")
	echo := textStmt("SELECT $1::text")
	release := holdSlots(s.reads)
	var errs [3]error
	var wg sync.WaitGroup
	for i := range 3 {
		st := echo
		if i == 1 {
			st = kill
		}
		wg.Go(func() { _, errs[i] = runText(t.Context(), s.reads, st, 1) })
		waitQueued(t, s.reads, i+1)
	}
	release()
	wg.Wait()
	if errs[0] != nil {
		t.Errorf("statement before the kill: %v", errs[0])
	}
	// The FATAL is no one statement's error: the statement that met it and
	// the one after it fail as the database's unavailability (503), and
	// the one after it is not sent again on the dead connection.
	for i := 1; i < 3; i++ {
		if !errors.Is(errs[i], ErrUnavailable) {
			t.Errorf("statement %d, from the kill on: %v; want ErrUnavailable", i+1, errs[i])
		}
	}
	if b := s.reads.batches.Load(); b != 1 {
		t.Errorf("%d batches before the next request, want 1 (nothing resent on the dead connection)", b)
	}
	for i := range 10 {
		got, err := runText(t.Context(), s.reads, echo, int64(i))
		if err != nil || !slices.Equal(got, []string{strconv.Itoa(i)}) {
			t.Fatalf("request %d after the loss: %v %v", i, got, err)
		}
	}
}

// TestPipeTerminatedIdleConnection: a pool connection whose backend was
// ended from outside (pg_terminate_backend: the next use reads FATAL
// 57P01) fails the batch that meets it with ErrUnavailable, and is
// dropped: the next batch runs on a new connection.
func TestPipeTerminatedIdleConnection(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	cfg.ConnConfig.RuntimeParams["application_name"] = "pipe-terminated"
	// pgxpool would ping a connection idle for over a second and replace a
	// dead one quietly; the test makes sure the batch meets it.
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	admin := mustPool(t)
	s := New(pool)
	echo := textStmt("SELECT $1::text")
	if _, err := runText(t.Context(), s.reads, echo, 1); err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pipe-terminated'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d backends: %v", killed, err)
	}
	out := runQueued(t, s.reads, echo, [][]int64{{1}, {2}, {3}})
	for i, r := range out {
		if !errors.Is(r.err, ErrUnavailable) || !Unavailable(r.err) {
			t.Errorf("statement %d on the terminated connection: %v %v; want ErrUnavailable", i+1, r.vals, r.err)
		}
	}
	for i := range 3 {
		got, err := runText(t.Context(), s.reads, echo, int64(i))
		if err != nil || !slices.Equal(got, []string{strconv.Itoa(i)}) {
			t.Fatalf("request %d after: %v %v", i, got, err)
		}
	}
	if n := pool.Stat().NewConnsCount(); n != 2 {
		t.Errorf("%d connections opened, want 2 (the terminated one dropped, once)", n)
	}
}

// TestUnavailable: which errors are the database's unavailability.
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{ErrUnavailable, true},
		{fmt.Errorf("list: %w", ErrUnavailable), true},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{io.EOF, true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, true},
		{&pgconn.PgError{Severity: "FATAL", Code: "57P01"}, true},
		{&pgconn.PgError{Severity: "ERROR", Code: "57P01"}, true},
		{&pgconn.PgError{Severity: "FATAL", Code: "57P02"}, true},
		{&pgconn.PgError{Severity: "FATAL", Code: "57P03"}, true},
		{&pgconn.PgError{Severity: "FATAL", Code: "53300"}, true},
		{&pgconn.PgError{Severity: "ERROR", Code: "08006"}, true},
		{&pgconn.PgError{Severity: "FATAL", Code: "XX000"}, true},
		{&pgconn.PgError{Severity: "PANIC", Code: "XX000"}, true},
		{&pgconn.PgError{Severity: "ERROR", Code: "22012"}, false},
		{&pgconn.PgError{Severity: "ERROR", Code: "57014"}, false}, // query_canceled: the statement's
		{&pgconn.PgError{Severity: "ERROR", Code: "23505"}, false},
		{context.Canceled, false},
		{errors.New("boom"), false},
	} {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	// pgconn's "conn busy" (a connection still in use): the real one.
	conn, err := pgconn.Connect(t.Context(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rr := conn.ExecParams(t.Context(), "SELECT 1", nil, nil, nil, nil)
	busy := conn.ExecParams(t.Context(), "SELECT 2", nil, nil, nil, nil).Read().Err
	rr.Close()
	if busy == nil || !Unavailable(busy) {
		t.Errorf("conn busy: %v, want unavailable", busy)
	}
	conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "SELECT 1").ReadAll(); !Unavailable(err) {
		t.Errorf("conn closed: %v, want unavailable", err)
	}
}

// TestPipeUnderLoad: many goroutines reading at once through a small pool
// each get their own answer (run with -race).
func TestPipeUnderLoad(t *testing.T) {
	pool := mustPool(t)
	s := New(pool)
	st := textStmt("SELECT ($1::int * 3)::text")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Go(func() {
			for i := range 50 {
				n := int64(g*1000 + i)
				got, err := runText(t.Context(), s.reads, st, n)
				if err != nil || len(got) != 1 || got[0] != strconv.FormatInt(3*n, 10) {
					errs <- fmt.Errorf("%d: %v %v", n, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.reads.statements.Load(); n != 64*50 {
		t.Errorf("%d statements sent, want %d", n, 64*50)
	}
	t.Logf("%d statements in %d round trips", s.reads.statements.Load(), s.reads.batches.Load())
}

// TestReadPipelines: the number of batches in flight defaults to the
// CPUs, can be set, and never exceeds the pool's connections.
func TestReadPipelines(t *testing.T) {
	pool := mustPool(t) // pgxpool's default size: at least 4
	conns := int(pool.Config().MaxConns)
	if got, want := New(pool).ReadPipelines(), min(DefaultReadPipelines(), conns); got != want {
		t.Errorf("default: %d pipelines, want %d", got, want)
	}
	if got := Open(pool, Options{Pipelines: conns + 5}).ReadPipelines(); got != conns {
		t.Errorf("set above the pool's %d connections: %d", conns, got)
	}
	s := Open(pool, Options{Pipelines: 1})
	if got := s.ReadPipelines(); got != 1 {
		t.Errorf("set to 1: %d", got)
	}
	// One pipeline still serves many concurrent requests.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			got, err := runText(t.Context(), s.reads, textStmt("SELECT $1::text"), int64(i))
			if err != nil || !slices.Equal(got, []string{strconv.Itoa(i)}) {
				t.Errorf("request %d: %v %v", i, got, err)
			}
		})
	}
	wg.Wait()
}

// TestReadsOnTheirOwnPool: with Options.Reads, reads are answered while
// every connection of the write pool is held (by writes waiting for their
// commits, say); sharing the write pool, they wait.
func TestReadsOnTheirOwnPool(t *testing.T) {
	dbURL := testdb.NewDatabase(t)
	newPool := func(conns int) *pgxpool.Pool {
		cfg, err := pgxpool.ParseConfig(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = int32(conns)
		p, err := pgxpool.NewWithConfig(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	writes := newPool(2)
	for range 2 {
		c, err := writes.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
	}
	read := func(s *Store) error {
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		_, err := s.ProductMeta(ctx, 1)
		return err
	}

	shared := New(writes)
	if err := read(shared); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read sharing the exhausted write pool: %v, want a deadline error", err)
	}
	own := Open(writes, Options{Reads: newPool(2), Pipelines: 2})
	if own.ReadPool() == writes {
		t.Fatal("ReadPool is the write pool")
	}
	for range 5 {
		if err := read(own); err != nil {
			t.Fatalf("read on its own pool: %v", err)
		}
	}
}
