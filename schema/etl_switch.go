package schema

import (
	"strconv"
	"strings"
	"time"
)

// The statements of the ETL's switch-over (package etl, switch.go), which
// replaces the served tables with the staging tables in one transaction
// (ETLSwitch), and of the transaction before it that carries the API's
// writes over (etl_carry.go). Table names come from the etl package's
// constants, sequence names from the catalog; never from input.

// ETLLockTimeout bounds the wait for any one lock (SET LOCAL lock_timeout)
// to d, in whole milliseconds.
func ETLLockTimeout(d time.Duration) string {
	return "SET LOCAL lock_timeout = '" + strconv.FormatInt(d.Milliseconds(), 10) + "ms'"
}

// ETLNoJIT turns JIT compilation off for the transaction: the carry-over's
// estimates can pass jit_above_cost while the statements touch a few rows.
const ETLNoJIT = "SET LOCAL jit = off"

// ETLNoSeqScan takes sequential scans out of the planner's choices for the
// transaction.
const ETLNoSeqScan = "SET LOCAL enable_seqscan = off"

// ETLLockTables takes every table of tables, in their order, in one
// statement.
func ETLLockTables(tables []string) string {
	return "LOCK TABLE " + strings.Join(tables, ", ") + " IN ACCESS EXCLUSIVE MODE"
}

// ETLBlockers describes the sessions that hold locks on the tables of $1
// (a text array of table names).
const ETLBlockers = `SELECT string_agg(format('pid %s (%s, transaction open %s s)', a.pid, a.state,
	                                  round(extract(epoch FROM now() - a.xact_start))), ', ' ORDER BY a.pid)
		FROM pg_stat_activity a
		WHERE a.pid <> pg_backend_pid()
		  AND a.pid IN (SELECT pid FROM pg_locks WHERE granted AND relation = ANY ($1::regclass[]))`

// ETLSequence names the sequence of the id column of table $1.
const ETLSequence = "SELECT pg_get_serial_sequence($1, 'id')"

// ETLIDFloor returns the largest id of table that is served or was ever
// handed out by seq, its id's sequence (as ETLSequence names it, quoted).
func ETLIDFloor(table, seq string) string {
	return `SELECT greatest((SELECT coalesce(max(id), 0) FROM ` + table + `),
		(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM ` + seq + `))`
}

// ETLSetSequence sets the sequence of table $1's ids past its largest id
// and past $2 (the ids handed out before), so no id is issued twice. table
// is the same table, spelled into the statement.
func ETLSetSequence(table string) string {
	return `SELECT setval(pg_get_serial_sequence($1, 'id'),
			greatest($2::bigint, (SELECT coalesce(max(id), 0) FROM ` + table + `)) + 1, false)`
}

// ETLDeleteStaleKeys deletes the idempotency keys whose review is gone after
// the switch. A POST's key (status 201, response {"review_id":N},
// queries.createReview) stays only for a review written through the API and
// served after the switch; a vote's key (status 204, request_hash "PUT
// /reviews/N/helpful", queries.HelpfulRequest) stays while review N exists,
// so a retried vote still counts once.
const ETLDeleteStaleKeys = `DELETE FROM idempotency_keys k
WHERE CASE WHEN k.status = 201 THEN
        NOT EXISTS (SELECT FROM reviews r
                    WHERE r.via_api
                      AND r.id = substring(convert_from(k.response, 'UTF8') FROM '"review_id":([0-9]+)')::int4)
      ELSE
        NOT EXISTS (SELECT FROM reviews r
                    WHERE r.id = substring(convert_from(k.request_hash, 'UTF8') FROM '^PUT /reviews/([0-9]+)/helpful$')::int4)
      END`
