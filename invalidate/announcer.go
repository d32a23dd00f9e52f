package invalidate

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/schema"
)

// Announcer tells the other instances which products this instance wrote,
// after the writes committed.
//
// It holds one connection of its own (not a pool's) and sends the pending
// product ids, deduplicated, as few payloads as fit (comma-separated, each
// under PostgreSQL's 8000-byte limit), all in one statement, hence one
// transaction. Nothing waits for a batch to fill: an id added while the
// announcer is idle goes out at once; ids added while a send is in flight,
// or within MinInterval after it, go together in the next. So at most one transaction of this instance
// holds PostgreSQL's notify lock at any time, however many writes it
// serves, and the connection commits without waiting for a WAL flush
// (synchronous_commit=off): if PostgreSQL crashes, every listener
// reconnects and clears its cache anyway.
//
// A send that fails keeps its ids; they go again once the connection is
// back (evicting twice is harmless). On connecting, the announcer greets
// the listeners ("hello"); when stopped it sends what is pending, then
// "bye", so listeners tell a clean stop from a death (see Listener).
type Announcer struct {
	cfg *pgx.ConnConfig
	log *slog.Logger

	// RetryInterval is the pause between failed connection attempts.
	RetryInterval time.Duration
	// SendTimeout bounds one send; past it the connection is given up and
	// the ids are sent again on a new one.
	SendTimeout time.Duration
	// PingInterval: an idle announcer checks its connection this often, so
	// a lost one is replaced (and Connected tells the truth) before the
	// next write needs it.
	PingInterval time.Duration
	// MinInterval is the least time between two sends: the ids written
	// meanwhile gather and leave together. A write after a quiet spell is
	// announced at once; under load an instance sends at most 1/MinInterval
	// transactions a second, however many writes it serves, instead of one
	// per write or two (each costs every listener a notification, and
	// PostgreSQL a commit through its notify queue). It adds at most
	// MinInterval to the 1 s coherence budget.
	MinInterval time.Duration

	mu      sync.Mutex
	pending map[uint32]struct{}
	wake    chan struct{}

	connected    atomic.Bool
	pid          atomic.Uint32
	batches      atomic.Uint64
	products     atomic.Uint64
	connectedSig chan struct{}
}

// NewAnnouncer returns an Announcer on the database cfg names; call Start
// or Run.
func NewAnnouncer(cfg *pgx.ConnConfig, log *slog.Logger) *Announcer {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.Copy()
	p := cfg.RuntimeParams
	// Listeners find announcers by this name.
	p["application_name"] = AnnouncerName
	// An announcement need not wait for a WAL flush (see the type's doc),
	// and this connection runs nothing else.
	p["synchronous_commit"] = "off"
	// Over TCP, the server drops this backend within a few seconds of the
	// network going silent, so listeners notice a writer cut off from the
	// database (its last announcements possibly lost) in about 5 s rather
	// than the system's default of two hours. Ignored on Unix sockets.
	p["tcp_keepalives_idle"] = "2"
	p["tcp_keepalives_interval"] = "1"
	p["tcp_keepalives_count"] = "2"
	return &Announcer{
		cfg:           cfg,
		log:           log,
		RetryInterval: time.Second,
		SendTimeout:   5 * time.Second,
		PingInterval:  time.Second,
		MinInterval:   defaultAnnounceInterval,
		pending:       map[uint32]struct{}{},
		wake:          make(chan struct{}, 1),
		connectedSig:  make(chan struct{}, 1),
	}
}

// Add queues product for announcement and returns at once.
func (a *Announcer) Add(product uint32) {
	a.mu.Lock()
	a.pending[product] = struct{}{}
	a.mu.Unlock()
	signal(a.wake)
}

// Connected reports whether the announcer's connection is up.
func (a *Announcer) Connected() bool { return a.connected.Load() }

// ConnectedSignal receives a value each time the announcer has connected
// and greeted the listeners (buffered, lossy).
func (a *Announcer) ConnectedSignal() <-chan struct{} { return a.connectedSig }

// BackendPID is the server process of the current connection, 0 when none.
func (a *Announcer) BackendPID() uint32 { return a.pid.Load() }

// Batches counts the transactions that announced products; Products the
// product ids they carried. Their ratio is the mean batch size.
func (a *Announcer) Batches() uint64  { return a.batches.Load() }
func (a *Announcer) Products() uint64 { return a.products.Load() }

// Pending is the number of product ids not yet announced.
func (a *Announcer) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// Start runs a in the background until the returned stop is called; stop
// sends what is pending and the goodbye (bye=true), or only what is
// pending (bye=false: listeners then clear their caches, as for a death),
// and waits. Set the intervals before.
func (a *Announcer) Start() (stop func(bye bool)) {
	ctx, cancel := context.WithCancel(context.Background())
	var farewell atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.run(ctx, &farewell)
	}()
	return func(bye bool) {
		farewell.Store(bye)
		cancel()
		<-done
	}
}

// Run announces until ctx ends, then sends what is pending and the goodbye.
func (a *Announcer) Run(ctx context.Context) {
	var bye atomic.Bool
	bye.Store(true)
	a.run(ctx, &bye)
}

func (a *Announcer) run(ctx context.Context, bye *atomic.Bool) {
	var conn *pgx.Conn
	defer func() {
		a.connected.Store(false)
		a.pid.Store(0)
		if conn != nil {
			closeConn(conn)
		}
	}()
	for {
		if conn == nil {
			var err error
			if conn, err = a.connect(ctx); err != nil {
				conn = nil
				if ctx.Err() != nil {
					return
				}
				a.log.Warn("announcer cannot connect; retrying", "err", err, "pending", a.Pending())
				select {
				case <-ctx.Done():
					return
				case <-time.After(a.RetryInterval):
				}
				continue
			}
		}
		ids := a.take()
		if len(ids) == 0 {
			idle := time.NewTimer(a.PingInterval)
			select {
			case <-a.wake:
			case <-idle.C:
				if err := a.ping(conn); err != nil {
					a.lose(conn, err, 0)
					conn = nil
				}
			case <-ctx.Done():
				a.farewell(conn, bye.Load())
				return
			}
			idle.Stop()
			continue
		}
		if err := a.send(conn, schema.InvalidatePayloads(ids)); err != nil {
			a.putBack(ids)
			a.lose(conn, err, len(ids))
			conn = nil
			continue
		}
		a.batches.Add(1)
		a.products.Add(uint64(len(ids)))
		if a.MinInterval > 0 {
			gather := time.NewTimer(a.MinInterval)
			select {
			case <-gather.C:
			case <-ctx.Done():
				gather.Stop()
			}
		}
	}
}

// defaultAnnounceInterval is Announcer.MinInterval unless told otherwise:
// 10 ms, a hundredth of the coherence budget.
const defaultAnnounceInterval = 10 * time.Millisecond

// lose drops a connection that failed; run connects again at once.
func (a *Announcer) lose(conn *pgx.Conn, err error, products int) {
	a.connected.Store(false)
	a.pid.Store(0)
	closeConn(conn)
	a.log.Warn("announcer connection lost; reconnecting", "err", err, "products_to_resend", products)
}

func (a *Announcer) ping(conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.SendTimeout)
	defer cancel()
	return conn.Ping(ctx)
}

func (a *Announcer) connect(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, a.cfg)
	if err != nil {
		return nil, err
	}
	// Listeners know this backend from now on, before any of its
	// announcements could be lost.
	if err := a.send(conn, []string{schema.InvalidateHello}); err != nil {
		closeConn(conn)
		return nil, err
	}
	a.pid.Store(conn.PgConn().PID())
	a.connected.Store(true)
	signal(a.connectedSig)
	return conn, nil
}

// send sends every payload in one statement, hence one transaction.
func (a *Announcer) send(conn *pgx.Conn, payloads []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.SendTimeout)
	defer cancel()
	_, err := conn.Exec(ctx, schema.InvalidateAnnounce, schema.InvalidateChannel, payloads)
	return err
}

// farewell sends what is pending and, when bye, the goodbye, in one
// transaction. Should it fail, listeners miss the goodbye and clear their
// caches: safe.
func (a *Announcer) farewell(conn *pgx.Conn, bye bool) {
	ids := a.take()
	p := schema.InvalidatePayloads(ids)
	if bye {
		p = append(p, schema.InvalidateBye)
	}
	if len(p) == 0 {
		return
	}
	if err := a.send(conn, p); err != nil {
		a.log.Warn("final announcement failed; listeners will clear their caches", "err", err, "products", len(ids))
		return
	}
	if len(ids) > 0 {
		a.batches.Add(1)
		a.products.Add(uint64(len(ids)))
	}
}

// take empties the pending set and returns its ids in order.
func (a *Announcer) take() []uint32 {
	a.mu.Lock()
	if len(a.pending) == 0 {
		a.mu.Unlock()
		return nil
	}
	ids := make([]uint32, 0, len(a.pending))
	for id := range a.pending {
		ids = append(ids, id)
	}
	clear(a.pending)
	a.mu.Unlock()
	slices.Sort(ids)
	return ids
}

func (a *Announcer) putBack(ids []uint32) {
	a.mu.Lock()
	for _, id := range ids {
		a.pending[id] = struct{}{}
	}
	a.mu.Unlock()
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	conn.Close(ctx) //nolint:errcheck // the connection is being dropped anyway
	cancel()
}
