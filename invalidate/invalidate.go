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
//     InvalidateChannel, many ids per transaction, one transaction at a time,
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
	"strconv"
	"strings"
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

// Payloads on queries.InvalidateChannel besides comma-separated product ids
// (a single id, as instances before the announcer sent, is a list of one).
const (
	// payloadHello: an announcer connected; listeners know its backend
	// from now on, even before their next check sees it.
	payloadHello = "hello"
	// payloadBye: an announcer stops after sending everything it had; its
	// backend (the notification's sender) leaving is no loss.
	payloadBye = "bye"
)

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

// parseIDs reads a comma-separated list of product ids.
func parseIDs(payload string, out []uint32) ([]uint32, bool) {
	for payload != "" {
		var s string
		s, payload, _ = strings.Cut(payload, ",")
		id, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return out, false
		}
		out = append(out, uint32(id))
	}
	return out, len(out) > 0
}

// maxPayload is the longest payload sent: PostgreSQL refuses 8000 bytes
// and more (with its default 8 kB pages).
const maxPayload = 7999

// payloads renders ids (sorted, distinct) as comma-separated lists, each
// at most maxPayload bytes.
func payloads(ids []uint32) []string {
	var out []string
	b := make([]byte, 0, min(maxPayload, 11*len(ids)))
	for _, id := range ids {
		var num [10]byte
		n := strconv.AppendUint(num[:0], uint64(id), 10)
		if len(b) > 0 && len(b)+1+len(n) > maxPayload {
			out = append(out, string(b))
			b = b[:0]
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
	}
	if len(b) > 0 {
		out = append(out, string(b))
	}
	return out
}
