package invalidate

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/catwalk/reviews/schema"
)

// Listener applies the announcements of every instance to one cache, and
// clears it when announcements may have been lost: after its own
// connection was lost, and when an announcer connection vanished without
// its goodbye (an instance killed between a commit and its announcement).
type Listener struct {
	cfg *pgx.ConnConfig
	ev  evictor
	log *slog.Logger

	// RetryInterval is the pause between failed connection attempts.
	RetryInterval time.Duration
	// CheckInterval is how often the listener looks up the announcer
	// connections (which also proves its own connection alive: a peer that
	// vanished without closing TCP sends nothing, not even an error). It
	// bounds how long after a dead writer's connection is gone the cache
	// still holds what that writer could not announce.
	CheckInterval time.Duration
	// CheckTimeout is how long that check may take before the connection
	// is given up; generous, since a busy server answers slowly and every
	// reconnection clears the cache.
	CheckTimeout time.Duration

	// self, when set, is this instance's announcer: what it sends was
	// evicted here before it was sent, so it is not applied twice.
	self *Announcer

	// known: announcer backends seen by the last check, or greeting since;
	// byes: those that said goodbye. Only the Run goroutine uses them.
	known map[uint32]struct{}
	byes  map[uint32]struct{}
	ids   []uint32

	listening   atomic.Bool
	connects    atomic.Uint64
	received    atomic.Uint64
	lost        atomic.Uint64
	backendPID  atomic.Uint32
	listenedSig chan struct{}
	checkedSig  chan struct{}
}

// NewListener returns a Listener on the database cfg names that evicts from
// c, telling r (which may be nil) first; call Start or Run.
func NewListener(cfg *pgx.ConnConfig, c Cache, r Router, log *slog.Logger) *Listener {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.Copy()
	cfg.RuntimeParams["application_name"] = ListenerName
	return &Listener{
		cfg:           cfg,
		ev:            evictor{cache: c, router: r},
		log:           log,
		RetryInterval: time.Second,
		CheckInterval: time.Second,
		CheckTimeout:  2 * time.Second,
		listenedSig:   make(chan struct{}, 1),
		checkedSig:    make(chan struct{}, 1),
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

// Notifications counts the notifications received (other instances'
// announcements, the ETL's, greetings and goodbyes).
func (l *Listener) Notifications() uint64 { return l.received.Load() }

// AnnouncersLost counts announcer connections that vanished without their
// goodbye, each of which cleared the cache.
func (l *Listener) AnnouncersLost() uint64 { return l.lost.Load() }

// Listening reports whether the listener's connection is up: while it is
// not, the cache is bypassed.
func (l *Listener) Listening() bool { return l.listening.Load() }

// BackendPID is the server process of the current connection (tests use it
// to cut the connection).
func (l *Listener) BackendPID() uint32 { return l.backendPID.Load() }

// Listened receives a value each time LISTEN succeeds and the cache is
// cleared (buffered, lossy).
func (l *Listener) Listened() <-chan struct{} { return l.listenedSig }

// Checked receives a value after each periodic check of the announcers
// (buffered, lossy; tests).
func (l *Listener) Checked() <-chan struct{} { return l.checkedSig }

// Run listens until ctx ends, reconnecting after any failure: at once when
// a working connection was lost (a terminated backend or a restarted server
// is usually back immediately), every RetryInterval while connecting fails.
// Until LISTEN works, and whenever it stops working, the cache is bypassed.
func (l *Listener) Run(ctx context.Context) {
	l.ev.suspend()
	for {
		wasUp, err := l.session(ctx)
		l.ev.suspend()
		l.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("invalidation listener disconnected; reconnecting (cache bypassed meanwhile)", "err", err)
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
	if _, err := conn.Exec(ctx, schema.InvalidateListen); err != nil {
		return false, err
	}
	// The announcers alive now are known before the cache is cleared: one
	// that dies later is noticed, and whatever one that died earlier did
	// not announce was committed before the clear below.
	l.known, l.byes = map[uint32]struct{}{}, map[uint32]struct{}{}
	if err := l.check(ctx, conn); err != nil {
		return false, err
	}
	l.connects.Add(1)
	l.backendPID.Store(conn.PgConn().PID())
	// Whatever was committed before LISTEN took effect may be cached and
	// was not heard: forget everything, then cache again. Cheap on the
	// first connection (the cache is empty), essential after a reconnect.
	l.ev.resume()
	l.listening.Store(true)
	signal(l.listenedSig)
	next := time.Now().Add(l.CheckInterval)
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.apply(n)
		case ctx.Err() != nil:
			return true, nil
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			if err := l.check(ctx, conn); err != nil {
				return true, err
			}
			signal(l.checkedSig)
			next = time.Now().Add(l.CheckInterval)
		default:
			return true, err
		}
	}
}

// check compares the announcer backends alive now with those known: one
// that vanished without a goodbye may have left committed writes
// unannounced, so the cache is cleared.
func (l *Listener) check(ctx context.Context, conn *pgx.Conn) error {
	cctx, cancel := context.WithTimeout(ctx, l.CheckTimeout)
	rows, _ := conn.Query(cctx, schema.InvalidateAnnouncers, AnnouncerName)
	alive, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (uint32, error) {
		var pid int32
		err := r.Scan(&pid)
		return uint32(pid), err
	})
	cancel()
	if err != nil {
		return err
	}
	// Notifications that came with the answer were sent before it: a
	// goodbye committed before its backend left is read before the backend
	// is missed. (PostgreSQL delivers pending notifications before it
	// reports the query done.)
	done, stop := context.WithCancel(context.Background())
	stop()
	for {
		n, err := conn.WaitForNotification(done)
		if err != nil || n == nil {
			break
		}
		l.apply(n)
	}
	now := make(map[uint32]struct{}, len(alive))
	for _, pid := range alive {
		now[pid] = struct{}{}
	}
	lost := 0
	for pid := range l.known {
		if _, ok := now[pid]; ok {
			continue
		}
		if _, ok := l.byes[pid]; !ok {
			lost++
		}
	}
	for pid := range l.byes {
		if _, ok := now[pid]; !ok {
			delete(l.byes, pid)
		}
	}
	l.known = now
	if lost > 0 {
		l.lost.Add(uint64(lost))
		l.log.Warn("an announcer connection vanished without its goodbye; clearing the cache", "announcers_lost", lost)
		l.ev.all()
	}
	return nil
}

func (l *Listener) apply(n *pgconn.Notification) {
	l.received.Add(1)
	if l.self != nil && n.PID == l.self.BackendPID() {
		// This instance's own announcement: evicted here before it was sent.
		return
	}
	switch n.Payload {
	case schema.InvalidateAll:
		l.ev.all()
		return
	case schema.InvalidateHello:
		l.known[n.PID] = struct{}{}
		return
	case schema.InvalidateBye:
		l.byes[n.PID] = struct{}{}
		return
	}
	ids, ok := schema.ParseInvalidateIDs(n.Payload, l.ids[:0])
	l.ids = ids[:0]
	if !ok {
		// Not ours to understand: be safe rather than stale.
		l.log.Warn("invalidation with an unknown payload; clearing the cache", "payload", n.Payload)
		l.ev.all()
		return
	}
	for _, id := range ids {
		l.ev.product(id)
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
