// Package cache keeps ready-to-send response bodies in memory, bounded in
// bytes, and can forget everything about one product in O(1).
//
// Entries are keyed by (kind, product, page, count, sort) plus the product's
// current generation. Invalidating a product bumps its generation: every
// older entry becomes unreachable at once and ages out of ristretto. A fill
// that raced with an invalidation is stored under the old generation, so it
// can never be served.
package cache

import (
	"crypto/sha256"
	"encoding/base64"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"
)

// Kind tells apart the responses cached for one product.
type Kind uint8

const (
	KindList Kind = iota + 1
	KindMeta
)

// Key names one cached response.
type Key struct {
	Kind    Kind
	Sort    uint8
	Product uint32
	Page    uint32
	Count   uint32
}

type entry struct {
	key  Key
	gen  uint64
	body []byte
	tag  ETag
}

// ETag is a strong entity tag of a body, quoted as it goes in the ETag
// header: the first 128 bits of the body's SHA-256 in unpadded base64url,
// between double quotes. It is a function of the bytes alone, so every
// instance gives the same body the same tag (a client's If-None-Match is
// honoured whichever instance NGINX picks), and a cryptographic hash, so no
// review text can be crafted to give a changed page its old tag.
type ETag [ETagLen]byte

// ETagLen is the length of a quoted ETag: 22 characters of base64 for 16
// bytes, and two quotes.
const ETagLen = 24

// Tag computes body's ETag. The cache computes it once per fill (hashing
// a page costs a miss far less than the query that built it), never on a
// hit.
func Tag(body []byte) ETag {
	sum := sha256.Sum256(body)
	var t ETag
	t[0] = '"'
	base64.RawURLEncoding.Encode(t[1:ETagLen-1], sum[:16])
	t[ETagLen-1] = '"'
	return t
}

// Value is a cached response: its body and the body's ETag. Body is shared:
// do not modify it.
type Value struct {
	Body []byte
	ETag ETag
}

// genSlots is the number of generation counters; products share a slot by
// hash, so an invalidation may also drop a few unrelated entries, never keep
// a stale one.
const genSlots = 1 << 16

// Cache is safe for concurrent use.
type Cache struct {
	rc    *ristretto.Cache[uint64, *entry]
	ttl   time.Duration
	epoch atomic.Uint64
	gens  [genSlots]atomic.Uint64
	group singleflight.Group

	hits, misses, invalidations, clears, evictions atomic.Uint64

	// bypass: every Get misses and Fill stores nothing (see SetBypass).
	bypass atomic.Bool
}

// Stats are counters since start.
type Stats struct {
	Hits, Misses, Invalidations, Clears uint64
	// Evictions counts entries ristretto dropped for room or TTL.
	Evictions uint64
	// Bytes is the memory the cached entries hold, as charged (see
	// EntryOverhead): at most the cache's maxBytes.
	Bytes uint64
}

// EntryOverhead is what one cached entry holds besides its body's
// allocation: the entry itself (72 bytes with its ETag, an 80-byte
// allocation), ristretto's stored item in its
// sharded map (key plus a 48-byte item), its key in the TTL bucket map and
// in the eviction policy's cost map, with the maps' slack (Go maps run at
// most 7/8 full and double when they grow). TestChargedBytesMatchHeap
// measures it: a cache full of small entries holds within 10 % of what
// Stats.Bytes says.
const EntryOverhead = 296

// Cost is what an entry of body is charged: every byte it keeps alive.
// The body's capacity counts, not its length: a body built in a larger
// buffer keeps the whole buffer (build bodies at their exact size, see
// handlers' buildList).
func Cost(body []byte) int64 { return int64(cap(body)) + EntryOverhead }

// New makes a cache whose entries hold at most maxBytes, bodies and their
// bookkeeping together, each kept at most ttl.
//
// Besides the entries, the cache has fixed costs that do not grow with
// traffic: the admission counters (about maxBytes/100: 4-bit counters,
// ten per expected entry), the generation slots (512 KiB) and ristretto's
// buffers. Sets waiting to be admitted (at most 32,768, applied by one
// goroutine in microseconds each) are not charged until admitted.
func New(maxBytes int64, ttl time.Duration) (*Cache, error) {
	if maxBytes < 1<<20 {
		maxBytes = 1 << 20
	}
	counters := maxBytes / 512 * 10 // ~10 counters per expected entry of ≥512 bytes
	c := &Cache{ttl: ttl}
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, *entry]{
		NumCounters: counters,
		MaxCost:     maxBytes,
		BufferItems: 64,
		// Costs are charged in full by Cost; ristretto's own (an item
		// struct) is part of EntryOverhead.
		IgnoreInternalCost: true,
		// ristretto's metrics would keep a map of up to 100,000 admission
		// times and add atomic counters to every Get; the cache counts
		// what /metrics shows itself.
		Metrics: false,
		OnEvict: func(*ristretto.Item[*entry]) { c.evictions.Add(1) },
	})
	if err != nil {
		return nil, err
	}
	c.rc = rc
	return c, nil
}

func (c *Cache) slot(product uint32) *atomic.Uint64 {
	return &c.gens[(product*2654435761)>>16&(genSlots-1)]
}

func (c *Cache) generation(product uint32) uint64 {
	return c.epoch.Load()<<32 ^ c.slot(product).Load()
}

func hash(k Key, gen uint64) uint64 {
	h := uint64(k.Kind)<<56 ^ uint64(k.Sort)<<48 ^ uint64(k.Product)
	h = mix(h ^ mix(uint64(k.Page)<<32|uint64(k.Count)))
	return mix(h ^ gen)
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Get returns the cached body for k. The slice is shared: do not modify it.
func (c *Cache) Get(k Key) ([]byte, bool) {
	v, ok := c.GetValue(k)
	return v.Body, ok
}

// GetValue returns the cached body for k with its ETag, computed when the
// body was cached: a hit neither hashes nor allocates.
func (c *Cache) GetValue(k Key) (Value, bool) {
	if c.bypass.Load() {
		c.misses.Add(1)
		return Value{}, false
	}
	gen := c.generation(k.Product)
	if e, ok := c.rc.Get(hash(k, gen)); ok && e.key == k && e.gen == gen {
		c.hits.Add(1)
		return Value{Body: e.body, ETag: e.tag}, true
	}
	c.misses.Add(1)
	return Value{}, false
}

// Fetch returns the cached body for k, or calls fill once for all concurrent
// callers missing the same key and caches its result. fill's body must not
// be modified afterwards.
func (c *Cache) Fetch(k Key, fill func() ([]byte, error)) ([]byte, error) {
	if body, ok := c.Get(k); ok {
		return body, nil
	}
	return c.Fill(k, fill)
}

// Fill is FillValue without the ETag.
func (c *Cache) Fill(k Key, fill func() ([]byte, error)) ([]byte, error) {
	v, err := c.FillValue(k, fill)
	return v.Body, err
}

// FillValue is Fetch for a caller whose GetValue just missed: it calls fill
// once for all concurrent callers of the same key and caches the result with
// its ETag (computed here, once per fill). Callers on a hot path use
// GetValue then FillValue, so a hit never allocates the fill closure.
func (c *Cache) FillValue(k Key, fill func() ([]byte, error)) (Value, error) {
	// The generation is read before the query runs: a write committed while
	// fill runs bumps it, and the possibly stale body lands under a key
	// nobody asks for again.
	gen := c.generation(k.Product)
	h := hash(k, gen)
	v, err, _ := c.group.Do(flightKey(h), func() (any, error) {
		body, err := fill()
		if err != nil {
			return nil, err
		}
		e := &entry{key: k, gen: gen, body: body, tag: Tag(body)}
		if !c.bypass.Load() {
			c.rc.SetWithTTL(h, e, Cost(body), c.ttl)
		}
		return e, nil
	})
	if err != nil {
		return Value{}, err
	}
	e := v.(*entry)
	return Value{Body: e.body, ETag: e.tag}, nil
}

func flightKey(h uint64) string {
	var b [8]byte
	for i := range b {
		b[i] = byte(h >> (8 * i))
	}
	return string(b[:])
}

// SetBypass turns the cache off (on=true) or back on. While off, every
// Get misses and Fill stores nothing, so nothing cached before or during
// the outage is served; the caller that turns it back on clears it first
// (a fill that raced with the switch lands under an old generation).
// The invalidation listener uses it while it cannot hear every write.
func (c *Cache) SetBypass(on bool) { c.bypass.Store(on) }

// InvalidateProduct makes every entry of product unreachable.
func (c *Cache) InvalidateProduct(product uint32) {
	c.slot(product).Add(1)
	c.invalidations.Add(1)
}

// Clear makes every entry unreachable (used when invalidations may have been
// missed, e.g. after the listener reconnects).
func (c *Cache) Clear() {
	c.epoch.Add(1)
	c.rc.Clear()
	c.clears.Add(1)
}

// Wait blocks until pending sets are applied (tests and benchmarks).
func (c *Cache) Wait() { c.rc.Wait() }

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:          c.hits.Load(),
		Misses:        c.misses.Load(),
		Invalidations: c.invalidations.Load(),
		Clears:        c.clears.Load(),
		Evictions:     c.evictions.Load(),
		Bytes:         uint64(c.rc.MaxCost() - c.rc.RemainingCost()),
	}
}

// Close releases ristretto's goroutines.
func (c *Cache) Close() { c.rc.Close() }
