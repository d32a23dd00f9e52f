// Package invalidate keeps this instance's cache coherent with writes made
// by any instance, and owns the order in which a change is applied.
//
// Writes commit without notifying (a NOTIFY inside the write would take
// PostgreSQL's cluster-wide notify lock until the commit is flushed, which
// serialises every write of the cluster). Instead, after its commit the
// instance that wrote:
//
//  1. marks the product written (read routing, queries.Store.MarkWritten),
//     then evicts it from its own cache, before it answers (Coherence.Written);
//  2. hands the product id to its Announcer: one dedicated connection that
//     sends the pending ids, deduplicated, as comma-separated payloads on
//     schema.InvalidateChannel, many ids per transaction, one transaction at a time,
//     each committed without waiting for a WAL flush.
//
// Every instance's Listener (another dedicated connection, LISTEN) applies
// the announcements of the other instances in the same order: mark written,
// then evict. A lost listener connection means announcements were missed:
// while it is down the cache is bypassed (nothing served from it, nothing
// stored) and /readyz says so; once LISTEN is back the cache is cleared.
//
// An instance that dies between a commit and its announcement: every
// Listener checks once a second which announcer connections exist
// (pg_stat_activity, application_name AnnouncerName); when one it knew of
// has gone without saying goodbye, its pending announcements are lost, so
// the Listener clears the whole cache. See README, "Write API".
package invalidate

import (
	"errors"
)

// Cache is what this package evicts from (cache.Cache).
type Cache interface {
	InvalidateProduct(product uint32)
	Clear()
	// SetBypass, while on, makes every lookup miss and stores nothing:
	// used while announcements may be missed.
	SetBypass(on bool)
}

// Router is told which products changed before they are evicted, so that
// no fill after the eviction reads a replica that lacks the write
// (queries.Store; nil without read routing).
type Router interface {
	MarkWritten(product uint32)
	MarkAllWritten()
}

// Names of the dedicated connections (pg_stat_activity.application_name).
const (
	// AnnouncerName marks announcer connections: listeners watch them.
	AnnouncerName = "catwalk-announce"
	// ListenerName marks listener connections (for operators and tests).
	ListenerName = "catwalk-listen"
)

// Errors of Coherence.Err.
var (
	ErrListenerDown  = errors.New("cache coherence lost: listener down")
	ErrAnnouncerDown = errors.New("cache coherence lost: announcer down")
)

// evictor is the one place where this instance forgets cached answers,
// always in the same order: read routing first learns that the product
// changed, then the cache entries become unreachable. A fill that sees the
// new cache generation therefore also sees the routing mark, and never
// reads a replica that lacks the write.
type evictor struct {
	cache  Cache
	router Router
}

func (e evictor) product(p uint32) {
	if e.router != nil {
		e.router.MarkWritten(p)
	}
	e.cache.InvalidateProduct(p)
}

// all forgets everything: changes may have been missed.
func (e evictor) all() {
	if e.router != nil {
		e.router.MarkAllWritten()
	}
	e.cache.Clear()
}

// suspend: from now on changes may be missed; serve nothing cached.
func (e evictor) suspend() {
	if e.router != nil {
		e.router.MarkAllWritten()
	}
	e.cache.SetBypass(true)
}

// resume: changes are heard again; forget what was cached before (a fill
// that raced with the outage lands under an old generation), then cache.
func (e evictor) resume() {
	e.all()
	e.cache.SetBypass(false)
}
