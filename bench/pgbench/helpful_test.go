package pgbench_test

import (
	"os/exec"
	"strconv"
	"testing"
)

// TestHelpfulScripts: each helpful script of bench/helpful_key.sh, run
// under pgbench -M prepared, adds exactly one vote per transaction, and the
// keyed ones one key each, stored as the service stores a vote's key.
func TestHelpfulScripts(t *testing.T) {
	pool, dbURL := seed(t)
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatalf("pgbench is needed (apt-get install postgresql-client): %v", err)
	}
	state := func() (votes, keys, wellFormed int64) {
		t.Helper()
		err := pool.QueryRow(t.Context(), `SELECT (SELECT sum(helpfulness) FROM reviews), (SELECT count(*) FROM idempotency_keys),
			(SELECT count(*) FROM idempotency_keys WHERE status = 204 AND response = ''
			   AND convert_from(request_hash, 'UTF8') ~ '^PUT /reviews/[1-8]/helpful$')`).Scan(&votes, &keys, &wellFormed)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	f := func(script string, keyed bool) {
		t.Helper()
		const clients, each = 2, 50
		v0, k0, w0 := state()
		out, err := exec.CommandContext(t.Context(), pgbench, "-n", "-M", "prepared", "-f", script,
			"-D", "lo=1", "-D", "hi=8", "-c", strconv.Itoa(clients), "-t", strconv.Itoa(each), dbURL).CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench %s: %v\n%s", script, err, out)
		}
		v1, k1, w1 := state()
		wantKeys := int64(0)
		if keyed {
			wantKeys = clients * each
		}
		if v1-v0 != clients*each || k1-k0 != wantKeys || w1-w0 != wantKeys {
			t.Errorf("%s: %d votes, %d keys (%d as the service stores them); want %d, %d", script, v1-v0, k1-k0, w1-w0, clients*each, wantKeys)
		}
	}
	f("helpful_bare.sql", false)
	f("helpful_statement.sql", false)
	f("helpful_keyed_bare.sql", true)
	f("helpful_keyed.sql", true)
}
