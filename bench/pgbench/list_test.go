package pgbench_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

// seed makes a fresh database where product 1 has seven reviews a day apart (id 1 oldest), of which id
// 6 is reported and id 1 has 1,000 helpful votes: log10(1001) ≈ 3 is worth
// 90 days of recency, so id 1 leads the relevant order. Product 2 has one
// review. It returns a pool on that database and its URL.
func seed(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	dbURL := testdb.NewDatabase(t)
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	day0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 7; i++ {
		helpful, reported := 0, i == 6
		if i == 1 {
			helpful = 1000
		}
		_, err := pool.Exec(t.Context(), `INSERT INTO reviews
			(id, product_id, rating, date, summary, body, recommend, reported, reviewer_name, reviewer_email, helpfulness)
			VALUES ($1, 1, 5, $2, 's', 'b', true, $3, 'n', 'e@x', $4)`,
			i, day0.AddDate(0, 0, i), reported, helpful)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(t.Context(), `INSERT INTO reviews
		(id, product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
		VALUES (8, 2, 3, now(), 's', 'b', false, 'n', 'e@x')`); err != nil {
		t.Fatal(err)
	}
	return pool, dbURL
}

// listStatement is list.sql's SELECT with :product_id as $1.
func listStatement(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("list.sql")
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
	return params.Replace(strings.TrimSuffix(strings.Join(lines, "\n"), ";"))
}

// params turns list.sql's variables into the service's parameters.
var params = strings.NewReplacer(":product_id", "$1", ":limit", "$2", ":offset", "$3")

// list.sql's statement is the one queries runs for the relevant order.
func TestListScriptIsTheServiceStatementSuccess(t *testing.T) {
	if got, want := listStatement(t), queries.ListSQL(queries.SortRelevant); got != want {
		t.Fatalf("list.sql differs from queries.ListSQL(SortRelevant):\n%s\nwant\n%s", got, want)
	}
}

func TestListStatementSuccess(t *testing.T) {
	pool, _ := seed(t)
	f := func(product int, want ...int) {
		t.Helper()
		rows, err := pool.Query(t.Context(), listStatement(t), product, 5, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []int
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, int(vals[0].(int32)))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("product %d: ids %v, want %v", product, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("product %d: ids %v, want %v", product, got, want)
			}
		}
	}
	f(1, 1, 7, 5, 4, 3) // relevant order, reported 6 left out, first 5
	f(2, 8)
	f(3)
}

// The statement is an index-ordered scan, as a cache miss must be.
func TestListStatementUsesIndexSuccess(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	pool, _ := seed(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := conn.Query(ctx, "EXPLAIN "+listStatement(t), 1, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "reviews_relevant_idx") || strings.Contains(plan.String(), "Sort") {
		t.Fatalf("the list statement does not walk reviews_relevant_idx in order:\n%s", plan.String())
	}
}

func TestListScriptUnderPgbenchSuccess(t *testing.T) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatalf("pgbench is needed (apt-get install postgresql-client): %v", err)
	}
	_, dbURL := seed(t)
	cmd := exec.CommandContext(t.Context(), pgbench, "-n", "-M", "prepared", "-f", "list.sql",
		"-D", "products=3", "-c", "2", "-j", "1", "-t", "20", dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	for _, re := range []string{
		`(?m)^query mode: prepared$`,
		`(?m)^number of transactions actually processed: 40/40$`,
		`(?m)^tps = [0-9.]+ \(without initial connection time\)$`,
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Fatalf("pgbench output lacks %s:\n%s", re, out)
		}
	}
}

// list_pipeline.sql runs list.sql's statement, four to a pipeline.
func TestListPipelineScriptSuccess(t *testing.T) {
	src, err := os.ReadFile("list_pipeline.sql")
	if err != nil {
		t.Fatal(err)
	}
	want := listStatement(t)
	var stmts []string
	var cur []string
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "--") || strings.HasPrefix(l, `\`) || strings.TrimSpace(l) == "" {
			continue
		}
		cur = append(cur, l)
		if strings.HasSuffix(l, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.Join(cur, "\n"), ";"))
			cur = nil
		}
	}
	if len(stmts) != 4 {
		t.Fatalf("%d statements in list_pipeline.sql, want 4", len(stmts))
	}
	for i, s := range stmts {
		if got := params.Replace(regexp.MustCompile(`:p[1-4]\b`).ReplaceAllString(s, "$$1")); got != want {
			t.Errorf("statement %d differs from list.sql's:\n%s\nwant\n%s", i+1, got, want)
		}
	}

	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatalf("pgbench is needed (apt-get install postgresql-client): %v", err)
	}
	_, dbURL := seed(t)
	out, err := exec.CommandContext(t.Context(), pgbench, "-n", "-M", "prepared", "-f", "list_pipeline.sql",
		"-D", "products=3", "-c", "2", "-j", "1", "-t", "20", dbURL).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^number of transactions actually processed: 40/40$`).Match(out) {
		t.Fatalf("pgbench output:\n%s", out)
	}
}
