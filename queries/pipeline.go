package queries

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// readPipe runs the read statements of concurrent requests on one pool,
// several to a round trip.
//
// A request queues its statement, then either finds it answered or takes
// one of the pipe's slots (see DefaultReadPipelines) and becomes the leader
// of a batch: it takes every queued statement (at most maxBatch), sends them
// on one connection as one pipeline (Bind/Execute each, one Sync, one
// write), reads the answers in order and hands each to its request. With no
// concurrency a batch holds one statement and costs what a plain query
// does; under load a batch serves what queued while the connections were
// busy, and PostgreSQL reads the statements and writes their answers with
// one system call each instead of one per statement (what that saves
// PostgreSQL, measured with pgbench's own pipeline mode: BENCHMARKS.md,
// "Full scale: the read path against its yardsticks").
//
// Each statement runs once, in the first batch that takes it, and costs its
// request one round trip. The statements of a batch run in one implicit
// transaction, each with its own snapshot (read committed), so a batch sees
// every write committed before it was sent. Should one statement fail (an
// error from PostgreSQL), the ones after it in the batch were skipped by
// PostgreSQL without running and are sent again, on the same connection, as
// the next batch: the one case where a request's statement takes a second
// round trip.
type readPipe struct {
	pool  *pgxpool.Pool
	slots chan struct{}

	mu    sync.Mutex
	queue []*readJob

	// batches and statements count what the pipe sent (metrics: their
	// ratio is the mean batch size).
	batches, statements atomic.Uint64
}

// maxBatch bounds the statements of one round trip, so that one leader's
// wait stays short and a failed batch resends little.
const maxBatch = 32

// newReadPipe returns a pipe with n batches in flight at most (n < 1: the
// default), never more than the pool's connections.
func newReadPipe(pool *pgxpool.Pool, n int) *readPipe {
	if n < 1 {
		n = DefaultReadPipelines()
	}
	n = min(n, int(pool.Config().MaxConns))
	return &readPipe{pool: pool, slots: make(chan struct{}, max(n, 1))}
}

// DefaultReadPipelines is how many read batches may be in flight on a pool
// unless told otherwise: the CPUs this process may use, at least 2. Fewer
// pipelines make larger batches, and as many pipelines as the benchmark
// machine's cores served the most cache misses, at low and at high
// concurrency (bench/pipelines.sh; BENCHMARKS.md, "Full scale: the read path
// against its yardsticks"). The right number follows the database
// server's cores; the default assumes the service's machine is the
// database's size.
func DefaultReadPipelines() int { return max(2, runtime.GOMAXPROCS(0)) }

// ReadPipelines is how many read batches may be in flight on the primary.
func (s *Store) ReadPipelines() int { return cap(s.reads.slots) }

// ReadPool is the pool the primary's reads run on: Options.Reads, or the
// write pool.
func (s *Store) ReadPool() *pgxpool.Pool { return s.reads.pool }

// readStmt is one read statement and the result formats its rows are
// decoded in.
type readStmt struct {
	sql     string
	formats []int16
}

// readJob is one request's statement in a pipe.
type readJob struct {
	ctx    context.Context
	stmt   *readStmt
	params [3][]byte // text format
	nparam int
	buf    [64]byte // backs params
	// row is called with each row's values (valid only during the call);
	// after it returns an error the job's other rows are skipped.
	row func(values [][]byte) error

	err   error
	taken bool          // by a leader; guarded by readPipe.mu
	done  chan struct{} // receives once the job has its answer
}

var jobPool = sync.Pool{New: func() any { return &readJob{done: make(chan struct{}, 1)} }}

func newJob(ctx context.Context, stmt *readStmt, row func([][]byte) error, args ...int64) *readJob {
	j := jobPool.Get().(*readJob)
	j.ctx, j.stmt, j.row, j.err, j.taken = ctx, stmt, row, nil, false
	b := j.buf[:0]
	for i, a := range args {
		start := len(b)
		b = strconv.AppendInt(b, a, 10)
		j.params[i] = b[start:len(b):len(b)]
	}
	j.nparam = len(args)
	return j
}

func (j *readJob) release() {
	j.ctx, j.row, j.stmt = nil, nil, nil
	jobPool.Put(j)
}

// run answers stmt with args, calling row for each row, and reports the
// statement's error or the row callback's. A request whose context ends
// while its statement waits in the queue returns at once; once a leader
// has taken the statement, run waits for its answer (bounded by the
// leader's deadline), because row is called until then.
func (p *readPipe) run(ctx context.Context, stmt *readStmt, row func([][]byte) error, args ...int64) error {
	j := newJob(ctx, stmt, row, args...)
	defer j.release()
	p.mu.Lock()
	p.queue = append(p.queue, j)
	p.mu.Unlock()
	for {
		select {
		case <-j.done:
			return j.err
		case p.slots <- struct{}{}:
			p.lead()
			<-p.slots
			p.mu.Lock()
			taken := j.taken
			p.mu.Unlock()
			if taken {
				<-j.done
				return j.err
			}
			// Still queued behind a full batch: contend again.
		case <-ctx.Done():
			p.mu.Lock()
			if !j.taken {
				p.remove(j)
				p.mu.Unlock()
				return ctx.Err()
			}
			p.mu.Unlock()
			<-j.done
			return j.err
		}
	}
}

// remove drops j from the queue; the caller holds p.mu.
func (p *readPipe) remove(j *readJob) { p.queue = removeQueued(p.queue, j) }

// removeQueued drops j from a pipe's queue, keeping the order of the rest.
func removeQueued[J comparable](queue []J, j J) []J {
	var zero J
	for i, q := range queue {
		if q == j {
			copy(queue[i:], queue[i+1:])
			queue[len(queue)-1] = zero
			return queue[:len(queue)-1]
		}
	}
	return queue
}

// lead takes up to maxBatch queued statements and answers them. The caller
// holds a slot.
func (p *readPipe) lead() {
	var batchArr [maxBatch]*readJob
	p.mu.Lock()
	n := copy(batchArr[:], p.queue)
	batch := batchArr[:n]
	for _, j := range batch {
		j.taken = true
	}
	rest := copy(p.queue, p.queue[n:])
	clear(p.queue[rest:])
	p.queue = p.queue[:rest]
	p.mu.Unlock()
	if n == 0 {
		return
	}

	// The batch runs until the latest of its requests' deadlines: one
	// request giving up must not fail the others.
	ctx := context.Background()
	if d, ok := latestDeadline(batch, readJobCtx); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		// No connection could be had in time (or opened): the database's
		// unavailability, whatever pgxpool says.
		finish(batch, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	defer conn.Release()
	for len(batch) > 0 {
		batch = p.send(ctx, conn, batch)
	}
}

// send runs batch as one pipeline on conn and answers its jobs. It returns
// the jobs PostgreSQL skipped after one of them failed, to be sent again.
func (p *readPipe) send(ctx context.Context, conn *pgxpool.Conn, batch []*readJob) (skipped []*readJob) {
	p.batches.Add(1)
	p.statements.Add(uint64(len(batch)))
	var sds [maxBatch]*pgconn.StatementDescription
	for i, j := range batch {
		// Prepared once per connection (the pool's AfterConnect does it for
		// serving pools); after that a map lookup.
		sd, err := conn.Conn().Prepare(ctx, j.stmt.sql, j.stmt.sql)
		if err != nil {
			if broken(conn, err) {
				// The connection is gone: every statement fails with it,
				// none is tried again on it.
				discard(conn, batch, err)
				return nil
			}
			// Preparing failed (the schema is behind): this statement gets
			// the error, the others try again.
			finish(batch[i:i+1], err)
			return append(batch[:i:i], batch[i+1:]...)
		}
		sds[i] = sd
	}
	pl := conn.Conn().PgConn().StartPipeline(ctx)
	for i, j := range batch {
		pl.SendQueryStatement(sds[i], j.params[:j.nparam], nil, j.stmt.formats)
	}
	if err := pl.Sync(); err != nil {
		_ = pl.Close()
		discard(conn, batch, err)
		return nil
	}
	for i, j := range batch {
		res, err := pl.GetResults()
		if err == nil {
			rr, ok := res.(*pgconn.ResultReader)
			if !ok {
				err = fmt.Errorf("pipeline: got %T for a statement", res)
			} else {
				err = readRows(rr, j.row)
			}
		}
		var rowErr *rowError
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			j.done <- struct{}{}
		case errors.As(err, &rowErr):
			// The request's own callback failed; the pipeline goes on.
			j.err = rowErr.err
			j.done <- struct{}{}
		case errors.As(err, &pgErr) && !broken(conn, err):
			// PostgreSQL skipped the rest of the batch up to the Sync.
			j.err = err
			j.done <- struct{}{}
			if cerr := pl.Close(); cerr != nil && (!errors.As(cerr, &pgErr) || broken(conn, cerr)) {
				discard(conn, batch[i+1:], cerr)
				return nil
			}
			return batch[i+1:]
		default:
			// The connection is gone, or PostgreSQL ended the session (a
			// FATAL error such as pg_terminate_backend's 57P01): no one
			// statement is at fault, every job left fails with it, and the
			// connection is closed so the pool drops it on release.
			_ = pl.Close()
			discard(conn, batch[i:], err)
			return nil
		}
	}
	// Every statement is answered; an error here (the Sync's answer lost)
	// leaves a closed connection for the pool to drop.
	_ = pl.Close()
	return nil
}

// rowError carries the error of a request's row callback: it fails that
// request only.
type rowError struct{ err error }

func (e *rowError) Error() string { return e.err.Error() }

// readRows calls row for each row of rr; after a callback error the
// remaining rows are drained unread.
func readRows(rr *pgconn.ResultReader, row func([][]byte) error) error {
	var cbErr error
	for rr.NextRow() {
		if cbErr == nil {
			cbErr = row(rr.Values())
		}
	}
	if _, err := rr.Close(); err != nil {
		return err
	}
	if cbErr != nil {
		return &rowError{cbErr}
	}
	return nil
}

// broken reports whether err leaves conn unusable: the driver closed it,
// or err is the database's unavailability (see Unavailable).
func broken(conn *pgxpool.Conn, err error) bool {
	return conn.Conn().PgConn().IsClosed() || Unavailable(err)
}

// discard fails jobs with err, marked as the database's unavailability
// (ErrUnavailable), and closes conn, so that releasing it to the pool
// destroys it instead of reusing it.
func discard(conn *pgxpool.Conn, jobs []*readJob, err error) {
	if !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	finish(jobs, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Conn().PgConn().Close(ctx)
}

func finish(jobs []*readJob, err error) {
	for _, j := range jobs {
		j.err = err
		j.done <- struct{}{}
	}
}

// latestDeadline is the latest deadline of the batch's requests (ctxOf
// gives each one's context); false when one has none.
func latestDeadline[J any](batch []J, ctxOf func(J) context.Context) (time.Time, bool) {
	var latest time.Time
	for _, j := range batch {
		d, ok := ctxOf(j).Deadline()
		if !ok {
			return time.Time{}, false
		}
		if d.After(latest) {
			latest = d
		}
	}
	return latest, true
}

// BatchStats counts the round trips read statements took on one pool.
type BatchStats struct {
	// Batches is the round trips sent, Statements the read statements in
	// them: Statements/Batches is the mean batch size.
	Batches, Statements uint64
}

// ReadBatchStats reports the batching of reads on the primary and, when a
// replica is configured (ok), on the replica.
func (s *Store) ReadBatchStats() (primary, replica BatchStats, ok bool) {
	primary = s.reads.stats()
	if s.replica != nil {
		return primary, s.replica.reads.stats(), true
	}
	return primary, BatchStats{}, false
}

func (p *readPipe) stats() BatchStats {
	return BatchStats{Batches: p.batches.Load(), Statements: p.statements.Load()}
}

func readJobCtx(j *readJob) context.Context { return j.ctx }
