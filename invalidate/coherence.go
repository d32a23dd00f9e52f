package invalidate

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Coherence is one instance's side of cache coherence: its Listener, its
// Announcer and the eviction order both follow.
type Coherence struct {
	ev        evictor
	Listener  *Listener
	Announcer *Announcer
}

// New returns the coherence of an instance whose cache is c and whose read
// routing is r (nil: none), on the database cfg names (the primary, never
// a replica). Set the Listener's and Announcer's intervals, then Start.
func New(cfg *pgx.ConnConfig, c Cache, r Router, log *slog.Logger) *Coherence {
	co := &Coherence{
		ev:        evictor{cache: c, router: r},
		Listener:  NewListener(cfg, c, r, log),
		Announcer: NewAnnouncer(cfg, log),
	}
	co.Listener.self = co.Announcer
	return co
}

// Start runs the listener and the announcer until stop is called. stop
// sends what is pending and, when bye, the announcer's goodbye (pass false
// when writes may still be running: listeners then clear, as for a death).
// Call stop only once this instance takes no more writes.
func (co *Coherence) Start() (stop func(bye bool)) {
	stopListener := co.Listener.Start()
	stopAnnouncer := co.Announcer.Start()
	return func(bye bool) {
		stopAnnouncer(bye)
		stopListener()
	}
}

// WaitReady waits until Err is nil or ctx ends, and returns Err.
func (co *Coherence) WaitReady(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		err := co.Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-t.C:
		}
	}
}

// Written is the local write path, after a write of product committed and
// before it is acknowledged: mark written, evict here, then announce to the
// other instances (asynchronously; see Announcer).
func (co *Coherence) Written(product uint32) {
	co.ev.product(product)
	co.Announcer.Add(product)
}

// Err is nil while this instance hears every instance's writes and can
// announce its own; otherwise it says which half is down (then the cache
// is bypassed, or this instance's writes reach the others late).
func (co *Coherence) Err() error {
	switch {
	case !co.Listener.Listening():
		return ErrListenerDown
	case !co.Announcer.Connected():
		return ErrAnnouncerDown
	}
	return nil
}
