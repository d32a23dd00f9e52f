package schema

import (
	"strconv"
	"strings"
)

// The invalidation channel is a contract between every instance and the
// ETL, as much as a table is: its name and payloads live here, next to the
// DDL, so that the writers (package invalidate's Announcer, the ETL switch)
// and the readers (package invalidate's Listener) cannot drift apart.

// InvalidateChannel is the NOTIFY channel on which written products are
// announced to every instance. The write statements do not notify: a NOTIFY
// inside a write would hold PostgreSQL's cluster-wide notify lock through
// the write's commit and serialise every write of the cluster. The instance
// that wrote announces after the commit (package invalidate).
const InvalidateChannel = "catwalk_invalidate"

// Payloads on InvalidateChannel besides comma-separated product ids
// (InvalidatePayloads; a single id, as instances before the announcer sent,
// is a list of one).
const (
	// InvalidateAll tells every instance to drop its whole cache (the ETL
	// sends it when it switches the data over).
	InvalidateAll = "all"
	// InvalidateHello: an announcer connected; listeners know its backend
	// from now on, even before their next check sees it.
	InvalidateHello = "hello"
	// InvalidateBye: an announcer stops after sending everything it had;
	// its backend (the notification's sender) leaving is no loss.
	InvalidateBye = "bye"
)

// InvalidateMaxPayload is the longest payload sent: PostgreSQL refuses 8000
// bytes and more (with its default 8 kB pages).
const InvalidateMaxPayload = 7999

// InvalidatePayloads renders ids (sorted, distinct) as comma-separated
// lists, each at most InvalidateMaxPayload bytes.
func InvalidatePayloads(ids []uint32) []string {
	var out []string
	b := make([]byte, 0, min(InvalidateMaxPayload, 11*len(ids)))
	for _, id := range ids {
		var num [10]byte
		n := strconv.AppendUint(num[:0], uint64(id), 10)
		if len(b) > 0 && len(b)+1+len(n) > InvalidateMaxPayload {
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

// ParseInvalidateIDs appends the product ids of a comma-separated payload
// to out; false when the payload is not such a list.
func ParseInvalidateIDs(payload string, out []uint32) ([]uint32, bool) {
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
