// Package invalidate keeps this instance's cache coherent with writes made
// by any instance.
//
// Every write transaction runs pg_notify('catwalk_invalidate', product_id),
// so PostgreSQL delivers the product id to every listener when, and only
// when, the write commits. A Listener holds one dedicated connection (not a
// pool's) that LISTENs on the channel and evicts each announced product. A
// lost connection is reopened within about a second; since notifications
// sent meanwhile are lost, the whole cache is cleared once LISTEN is back.
package invalidate

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/queries"
)

// Cache is what a Listener evicts from (cache.Cache).
type Cache interface {
	InvalidateProduct(product uint32)
	Clear()
}

// Listener applies the invalidations of every instance to one cache.
type Listener struct {
	cfg   *pgx.ConnConfig
	cache Cache
	log   *slog.Logger

	// RetryInterval is the pause between failed connection attempts.
	RetryInterval time.Duration
	// PingInterval is how long the connection may stay silent before a
	// ping checks it is still alive (a peer that vanished without closing
	// the TCP connection sends nothing, not even an error).
	PingInterval time.Duration
	// PingTimeout is how long that ping may take before the connection is
	// given up; generous, since a busy server answers slowly and every
	// reconnection clears the cache.
	PingTimeout time.Duration

	listening   atomic.Bool
	connects    atomic.Uint64
	received    atomic.Uint64
	backendPID  atomic.Uint32
	listenedSig chan struct{}
}

// New returns a Listener on the database cfg names; call Run to start it.
func New(cfg *pgx.ConnConfig, c Cache, log *slog.Logger) *Listener {
	if log == nil {
		log = slog.Default()
	}
	return &Listener{
		cfg:           cfg,
		cache:         c,
		log:           log,
		RetryInterval: time.Second,
		PingInterval:  time.Second,
		PingTimeout:   2 * time.Second,
		listenedSig:   make(chan struct{}, 1),
	}
}

// Start runs l in the background until the returned stop is called; stop
// waits for it to end. Set the intervals before.
func (l *Listener) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// Reconnects counts connections made after the first: each one followed a
// lost connection and cleared the cache.
func (l *Listener) Reconnects() uint64 {
	if n := l.connects.Load(); n > 1 {
		return n - 1
	}
	return 0
}

// Notifications counts the invalidations received.
func (l *Listener) Notifications() uint64 { return l.received.Load() }

// Listening reports whether the listener's connection is up.
func (l *Listener) Listening() bool { return l.listening.Load() }

// BackendPID is the server process of the current connection (tests use it
// to cut the connection).
func (l *Listener) BackendPID() uint32 { return l.backendPID.Load() }

// Listened receives a value each time LISTEN succeeds (buffered, lossy).
func (l *Listener) Listened() <-chan struct{} { return l.listenedSig }

// Run listens until ctx ends, reconnecting after any failure: at once when
// a working connection was lost (a terminated backend or a restarted server
// is usually back immediately), every RetryInterval while connecting fails.
func (l *Listener) Run(ctx context.Context) {
	for {
		wasUp, err := l.session(ctx)
		l.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("invalidation listener disconnected; reconnecting", "err", err)
		if wasUp {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.RetryInterval):
		}
	}
}

// session connects, listens and applies notifications until the
// connection fails or ctx ends; wasUp tells whether LISTEN succeeded.
func (l *Listener) session(ctx context.Context) (wasUp bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.ConnectConfig(cctx, l.cfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(cctx) //nolint:errcheck // the connection is being dropped anyway
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+queries.InvalidateChannel); err != nil {
		return false, err
	}
	l.connects.Add(1)
	l.backendPID.Store(conn.PgConn().PID())
	l.listening.Store(true)
	// Whatever was committed before LISTEN took effect may be cached and
	// was not heard: forget everything. Cheap on the first connection
	// (the cache is empty), essential after a reconnect.
	l.cache.Clear()
	select {
	case l.listenedSig <- struct{}{}:
	default:
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, l.PingInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.apply(n.Payload)
		case ctx.Err() != nil:
			return true, nil
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Silent for a while: make sure the server is still there.
			pctx, cancel := context.WithTimeout(ctx, l.PingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}

func (l *Listener) apply(payload string) {
	l.received.Add(1)
	if payload == queries.InvalidateAll {
		l.cache.Clear()
		return
	}
	id, err := strconv.ParseUint(payload, 10, 32)
	if err != nil {
		// Not ours to understand: be safe rather than stale.
		l.log.Warn("invalidation with an unknown payload; clearing the cache", "payload", payload)
		l.cache.Clear()
		return
	}
	l.cache.InvalidateProduct(uint32(id))
}
