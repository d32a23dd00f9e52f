package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// warmth says whether a pool is warm: all its connections open, each with
// its statements prepared and planned (the pool's AfterConnect does that
// before a connection serves), and none lost since they were last all
// checked. An instance answers /readyz 503 until its pools are warm, so a
// balancer sends it traffic only once the first requests cost what the
// next ones do, and again after PostgreSQL restarts (every connection is
// lost then; the first one found dead makes the pool cold until a sweep
// has checked or replaced them all).
//
// Connections the pool retires on purpose (lifetime, idle time) do not
// make it cold: their replacements are warmed before they serve.
type warmth struct {
	name string
	pool *pgxpool.Pool
	log  *slog.Logger

	mu     sync.Mutex
	ready  bool
	losses uint64
	kick   chan struct{}

	// peers are the pools on the same database (set by warmPools, before
	// any connection can close): a connection found lost makes them all
	// cold, since whatever took it (a restart, a terminate of every
	// backend) probably took theirs too, and a pool nobody has used since
	// would otherwise still claim to be warm with dead connections.
	peers []*warmth
}

func newWarmth(name string, log *slog.Logger) *warmth {
	return &warmth{name: name, log: log, kick: make(chan struct{}, 1)}
}

// Ready reports whether the pool is warm: two loads under a mutex, cheap
// enough for every readiness probe.
func (w *warmth) Ready() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

// beforeClose is the pool's BeforeClose. A connection that is closed
// already was lost (reset, terminated, timed out): the others probably
// were too, so the pool is cold until a sweep proves otherwise. An open
// one is being retired by the pool (or the pool is closing).
func (w *warmth) beforeClose(conn *pgx.Conn) {
	if !conn.IsClosed() {
		return
	}
	w.mu.Lock()
	w.losses++
	peers := w.peers
	w.mu.Unlock()
	w.cool()
	for _, p := range peers {
		if p != w {
			p.cool()
		}
	}
}

// cool marks the pool cold and asks its sweeper to check every connection.
func (w *warmth) cool() {
	w.mu.Lock()
	w.ready = false
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// sweepTimeout bounds one sweep: acquiring (opening and warming if need
// be) every connection and pinging it.
const sweepTimeout = 15 * time.Second

// checkEvery is how often a warm pool pings one of its connections, so a
// database restart is noticed (and the pool goes cold, then warm again)
// without waiting for a request or a readiness probe to find it.
const checkEvery = time.Second

// run makes the pool warm at start and after every loss, until ctx ends.
// A failed sweep is retried after a pause that doubles up to a second.
func (w *warmth) run(ctx context.Context) {
	pause := 50 * time.Millisecond
	var logged time.Time // the last "not warm yet", so a long outage logs every 10 s
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	for {
		w.mu.Lock()
		losses := w.losses
		w.mu.Unlock()
		err := w.sweep(ctx)
		if err == nil {
			w.mu.Lock()
			// A loss during the sweep leaves a kick behind: sweep again.
			if w.losses == losses && !w.ready {
				w.ready = true
				w.log.Info("pool warm", "pool", w.name, "conns", w.pool.Config().MaxConns)
			}
			w.mu.Unlock()
			pause = 50 * time.Millisecond
			if !w.idle(ctx, tick.C) {
				return
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if time.Since(logged) >= 10*time.Second {
			w.log.Warn("pool not warm yet", "pool", w.name, "err", err)
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// idle waits, pinging one connection at every tick, until a loss (true)
// or the end of ctx (false). A dead connection found by the ping is a loss.
func (w *warmth) idle(ctx context.Context, tick <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-w.kick:
			return true
		case <-tick:
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			if conn, err := w.pool.Acquire(c); err == nil {
				conn.Ping(c) //nolint:errcheck // a failure closes the connection: a loss
				conn.Release()
			}
			cancel()
		}
	}
}

// sweep holds every connection of the pool at once, so the pool opens
// (and AfterConnect warms) any that are missing, and pings each, so a dead
// one is found now rather than by a request. Requests wait for
// connections meanwhile, for about a round trip when all is well.
func (w *warmth) sweep(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	n := int(w.pool.Config().MaxConns)
	errs := make(chan error, n)
	conns := make(chan *pgxpool.Conn, n)
	for range n {
		go func() {
			c, err := w.pool.Acquire(ctx)
			if err == nil {
				conns <- c
				err = c.Ping(ctx)
			}
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	close(conns)
	for c := range conns {
		c.Release() // a dead one is closed, so the pool destroys it
	}
	if first != nil {
		return fmt.Errorf("%s pool: %w", w.name, first)
	}
	return nil
}

// warmPools runs each warmth's sweeps until the returned stop is called;
// stop waits for them, so the pools can close after it.
func warmPools(ws ...*warmth) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	for _, w := range ws {
		w.mu.Lock()
		w.peers = ws
		w.mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.run(ctx) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// waitWarm returns once every w is warm, after at most limit (at once when
// limit is negative), or when ctx ends.
func waitWarm(ctx context.Context, limit time.Duration, log *slog.Logger, ws ...*warmth) {
	if limit < 0 {
		return
	}
	start := time.Now()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		warm := true
		for _, w := range ws {
			warm = warm && w.Ready()
		}
		if warm {
			log.Info("warm", "after", time.Since(start).Round(time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			log.Warn("listening while not warm yet", "waited", limit)
			return
		case <-tick.C:
		}
	}
}
