package schema

import (
	"strconv"
	"strings"
)

// The invalidation channel is a contract between every instance and the
// ETL, as much as a table is: its name, payloads and statements live here,
// next to the DDL, so that the writers (package invalidate's Announcer, the
// ETL switch) and the readers (package invalidate's Listener) cannot drift
// apart.

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

// The statements on the channel. They take the channel as $1 (pass
// InvalidateChannel) where PostgreSQL allows a parameter; LISTEN takes none.
const (
	// InvalidateListen subscribes a session to the channel (package
	// invalidate's Listener).
	InvalidateListen = "LISTEN " + InvalidateChannel
	// InvalidateAnnounce sends every payload of $2 (text[]) in one
	// statement, hence one transaction (the Announcer).
	InvalidateAnnounce = `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`
	// InvalidateNotify sends the one payload $2 (the ETL's InvalidateAll,
	// inside the switch-over's transaction, so it goes out at commit).
	InvalidateNotify = "SELECT pg_notify($1, $2)"
	// InvalidateAnnouncers lists the backends of the connections named $1
	// (the announcers' application_name) on this database: a listener
	// watches them to notice one that dies without its goodbye.
	InvalidateAnnouncers = `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`
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
