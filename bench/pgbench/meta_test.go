package pgbench_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/catwalk/reviews/queries"
)

// meta.sql's statement is the one queries runs for GET /reviews/meta.
func TestMetaScriptIsTheServiceStatementSuccess(t *testing.T) {
	src, err := os.ReadFile("meta.sql")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "--") || strings.HasPrefix(l, `\`) || strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, l)
	}
	got := strings.ReplaceAll(strings.TrimSuffix(strings.Join(lines, "\n"), ";"), ":product_id", "$1")
	if got != queries.MetaSQL() {
		t.Fatalf("meta.sql differs from queries.MetaSQL:\n%s\nwant\n%s", got, queries.MetaSQL())
	}
}

// The mix bench/cluster.sh's baseline runs (list, meta, POST and helpful
// at mixed's weights, rate-limited, with a latency limit) is valid for
// pgbench and reports what clusterreport reads.
func TestMixedBaselineUnderPgbenchSuccess(t *testing.T) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatalf("pgbench is needed (apt-get install postgresql-client): %v", err)
	}
	pool, dbURL := seed(t)
	var before int64
	if err := pool.QueryRow(t.Context(), `SELECT sum(helpfulness) FROM reviews`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), pgbench, "-n", "-M", "prepared",
		"-f", "list.sql@700", "-f", "meta.sql@300", "-f", "post_bare.sql@250", "-f", "helpful_bare.sql@250",
		"-D", "products=3", "-D", "lo=1", "-D", "hi=8", "-R", "200", "-L", "100",
		"-c", "2", "-j", "1", "-t", "30", dbURL).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	for _, re := range []string{
		`(?m)^number of transactions actually processed: [0-9]+/60$`,
		`(?m)^number of transactions skipped: [0-9]+ \(`,
		`(?m)^number of transactions above the 100\.0 ms latency limit: [0-9]+/[0-9]+ \(`,
		`(?m)^latency average = [0-9.]+ ms$`,
		`(?m)^tps = [0-9.]+ \(without initial connection time\)$`,
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Fatalf("pgbench output lacks %s:\n%s", re, out)
		}
	}
	var after int64
	if err := pool.QueryRow(t.Context(), `SELECT sum(helpfulness) FROM reviews`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Errorf("60 transactions at helpful's weight voted nothing; output:\n%s", out)
	}
}
