package server

import (
	"os"
	"runtime/debug"
)

// MemoryAllowance is what an instance may use besides its cache's
// CACHE_MAX_BYTES: the Go runtime, the binary, the cache's fixed parts
// (admission counters: about CACHE_MAX_BYTES/100), its entries' map slack
// (up to 15 % of CACHE_MAX_BYTES with the smallest entries), the pools'
// connections, and MAX_CONNS connections' buffers and requests in flight
// (about 30 KiB each at most for bodies up to MAX_BODY_BYTES).
// README "Operations", memory, states the bound and what it assumes.
const MemoryAllowance = 256 << 20

// softLimitMargin keeps the Go runtime's soft limit below the bound: the
// limit counts the memory the runtime manages, the bound is resident
// memory, which also holds the binary's text and what the runtime has not
// yet returned to the system.
const softLimitMargin = 48 << 20

// setMemoryLimit sets the Go runtime's soft memory limit to the cache's
// bytes plus the allowance (less a margin), unless GOMEMLIMIT says
// otherwise. Without it the garbage collector lets the heap grow to twice
// what is live (GOGC=100): with a full cache that alone is twice
// CACHE_MAX_BYTES, whatever the cache charges. It returns the limit in
// force.
func setMemoryLimit(cacheMaxBytes int64) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	limit := cacheMaxBytes + MemoryAllowance - softLimitMargin
	debug.SetMemoryLimit(limit)
	return limit
}
