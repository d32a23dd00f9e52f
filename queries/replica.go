package queries

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ReplicaOptions tune read routing to a streaming replica.
type ReplicaOptions struct {
	// Pool is the standby's; without it every read goes to the primary.
	// It serves reads (and the freshness probe) only; the Store does not
	// close it.
	Pool *pgxpool.Pool
	// MaxLag: when the replica's replay trails the primary by more than this,
	// every read goes to the primary until it catches up (0:
	// DefaultReplicaMaxLag).
	MaxLag time.Duration
	// ProbeInterval is how often the replica's replay position is compared
	// with the primary's (0: defaultProbeInterval).
	ProbeInterval time.Duration
}

// DefaultReplicaMaxLag is the MaxLag of a zero ReplicaOptions, and the
// default of `catwalk serve -replica-max-lag` (through server.Defaults):
// the one home of that number.
const DefaultReplicaMaxLag = time.Second

// defaultProbeInterval is the ProbeInterval of a zero ReplicaOptions; no
// flag sets it.
const defaultProbeInterval = 100 * time.Millisecond

// replicaSlots is the number of per-product "last written" clocks; products
// share a slot by hash, so a collision sends a few extra reads to the
// primary, never a stale one to the replica.
const replicaSlots = 1 << 16

// replica routes reads to a standby only when the standby provably holds
// every write this process has seen for the product.
//
// Clock: nanoseconds on a monotonic clock since the Store was made.
//
//   - caughtUp: every transaction committed on the primary before this
//     instant has been replayed on the replica. A probe notes the instant
//     t0, then reads the primary's WAL insert position L (any commit before
//     t0 lies below L); once the replica's replay position reaches L,
//     caughtUp becomes t0.
//   - written[slot(p)]: the instant this process learned product p changed
//     (its own write, or a NOTIFY from another instance), recorded before
//     the cache entry of p is invalidated.
//   - floor: writes before it may have been missed entirely (start-up, a
//     listener reconnect); it acts as a write to every product.
//
// A read of p goes to the replica only if caughtUp > max(floor, written[p])
// and the replica is not lagging by more than MaxLag. So a cache fill can
// never come from a replica that has not applied the write that evicted
// the entry, and a client reading on the instance that took its write
// always sees it.
type replica struct {
	pool   *pgxpool.Pool
	reads  *readPipe
	opt    ReplicaOptions
	origin time.Time

	caughtUp atomic.Int64
	floor    atomic.Int64
	written  [replicaSlots]atomic.Int64

	// routed counts reads sent to each pool (metrics).
	toReplica, toPrimary atomic.Uint64

	cancel context.CancelFunc
	done   chan struct{}
}

// newReplica routes reads to opt.Pool, with pipelines read batches in
// flight on it at most (see newReadPipe), and starts its probe of the
// primary; Store.Close stops it.
func newReplica(primary *pgxpool.Pool, opt ReplicaOptions, pipelines int) *replica {
	if opt.MaxLag <= 0 {
		opt.MaxLag = DefaultReplicaMaxLag
	}
	if opt.ProbeInterval <= 0 {
		opt.ProbeInterval = defaultProbeInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{pool: opt.Pool, reads: newReadPipe(opt.Pool, pipelines), opt: opt, origin: time.Now(), cancel: cancel, done: make(chan struct{})}
	// Nothing is known about the replica yet: until a first probe succeeds,
	// every read goes to the primary.
	r.floor.Store(r.now())
	go r.probeLoop(ctx, primary)
	return r
}

func (r *replica) now() int64 { return int64(time.Since(r.origin)) + 1 }

func replicaSlot(product int32) int {
	return int(uint32(product)*2654435761>>16) & (replicaSlots - 1)
}

func (r *replica) pick(primary *readPipe, product int32) *readPipe {
	caught := r.caughtUp.Load()
	need := max(r.floor.Load(), r.written[replicaSlot(product)].Load())
	if caught <= need || r.now()-caught > int64(r.opt.MaxLag) {
		r.toPrimary.Add(1)
		return primary
	}
	r.toReplica.Add(1)
	return r.reads
}

type probe struct {
	at  int64
	lsn uint64
}

// maxPending bounds the probes waiting for the replica to reach their
// position; the oldest are dropped first (only freshness is lost).
const maxPending = 64

func (r *replica) probeLoop(ctx context.Context, primary *pgxpool.Pool) {
	defer close(r.done)
	t := time.NewTicker(r.opt.ProbeInterval)
	defer t.Stop()
	var pending []probe
	for {
		pending = r.probeOnce(ctx, primary, pending)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Statements of the replication probe.
const (
	// primaryWALPosition: the insert position covers commits not yet
	// flushed (synchronous_commit=off).
	primaryWALPosition = `SELECT pg_current_wal_insert_lsn()::text`
	// replicaReplayPosition is NULL on a server that is not a standby.
	replicaReplayPosition = `SELECT pg_last_wal_replay_lsn()::text`
)

func (r *replica) probeOnce(ctx context.Context, primary *pgxpool.Pool, pending []probe) []probe {
	ctx, cancel := context.WithTimeout(ctx, max(r.opt.ProbeInterval*5, time.Second))
	defer cancel()
	at := r.now()
	var lsnText string
	if err := primary.QueryRow(ctx, primaryWALPosition).Scan(&lsnText); err != nil {
		return pending
	}
	lsn, err := parseLSN(lsnText)
	if err != nil {
		return pending
	}
	if len(pending) == maxPending {
		pending = append(pending[:0], pending[1:]...)
	}
	pending = append(pending, probe{at: at, lsn: lsn})

	var replay *string
	if err := r.pool.QueryRow(ctx, replicaReplayPosition).Scan(&replay); err != nil {
		return pending
	}
	var reached uint64
	if replay == nil {
		// Not a standby (a promoted replica, or the primary itself): what it
		// holds is current.
		reached = ^uint64(0)
	} else if reached, err = parseLSN(*replay); err != nil {
		return pending
	}
	keep := pending[:0]
	for _, p := range pending {
		if p.lsn <= reached {
			if p.at > r.caughtUp.Load() {
				r.caughtUp.Store(p.at)
			}
			continue
		}
		keep = append(keep, p)
	}
	return keep
}

// parseLSN reads PostgreSQL's pg_lsn text form "XXXXXXXX/YYYYYYYY".
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	return h<<32 | l, nil
}

// ReplicaStats describe read routing for metrics.
type ReplicaStats struct {
	// Lag is how far behind the primary the replica is known to be at most.
	Lag                  time.Duration
	ToReplica, ToPrimary uint64
}

// ReplicaStats returns the routing counters; ok is false without a replica.
func (s *Store) ReplicaStats() (st ReplicaStats, ok bool) {
	r := s.replica
	if r == nil {
		return st, false
	}
	return ReplicaStats{
		Lag:       time.Duration(r.now() - r.caughtUp.Load()),
		ToReplica: r.toReplica.Load(),
		ToPrimary: r.toPrimary.Load(),
	}, true
}

// ReplicaPool is the read replica's pool, nil without one.
func (s *Store) ReplicaPool() *pgxpool.Pool {
	if s.replica == nil {
		return nil
	}
	return s.replica.pool
}

// MarkWritten records that product changed (a write here, or a NOTIFY from
// another instance). It must run before the product's cached responses are
// invalidated, so no fill after the invalidation reads a replica that lacks
// the write. Without a replica it does nothing.
func (s *Store) MarkWritten(product uint32) {
	if r := s.replica; r != nil {
		storeMax(&r.written[replicaSlot(int32(product))], r.now())
	}
}

// MarkAllWritten is MarkWritten for every product: writes may have been
// missed (the cache is being cleared, e.g. after a listener reconnect).
func (s *Store) MarkAllWritten() {
	if r := s.replica; r != nil {
		storeMax(&r.floor, r.now())
	}
}

// storeMax raises v to t unless a concurrent caller already raised it
// further: a later write's instant must never be overwritten by an earlier.
func storeMax(v *atomic.Int64, t int64) {
	for {
		old := v.Load()
		if old >= t || v.CompareAndSwap(old, t) {
			return
		}
	}
}

// Close stops the replica probe; the pools are the caller's to close.
func (s *Store) Close() {
	r := s.replica
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}
