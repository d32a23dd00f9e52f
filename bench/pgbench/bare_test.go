package pgbench_test

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

// runPgbench runs script n times on each of two clients, with -D defines.
func runPgbench(t *testing.T, dbURL, script string, n int, defines ...string) {
	t.Helper()
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatalf("pgbench is needed (apt-get install postgresql-client): %v", err)
	}
	args := []string{"-n", "-M", "prepared", "-f", script, "-c", "2", "-j", "1", "-t", strconv.Itoa(n)}
	for _, d := range defines {
		args = append(args, "-D", d)
	}
	out, err := exec.CommandContext(t.Context(), pgbench, append(args, dbURL)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench %s: %v\n%s", script, err, out)
	}
	want := regexp.MustCompile(`(?m)^number of transactions actually processed: ` + strconv.Itoa(2*n) + `/` + strconv.Itoa(2*n) + `$`)
	if !want.Match(out) || regexp.MustCompile(`(?m)^number of failed transactions: [1-9]`).Match(out) {
		t.Fatalf("pgbench %s output:\n%s", script, out)
	}
}

// listen returns a connection listening on the invalidation channel.
func listen(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), "LISTEN catwalk_invalidate"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// assertNoNotification proves the scripts sent nothing: a sentinel
// notified after pgbench finished must be the first to arrive, since
// notifications are delivered in commit order.
func assertNoNotification(t *testing.T, pool *pgxpool.Pool, conn *pgx.Conn) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), "SELECT pg_notify('catwalk_invalidate', 'sentinel')"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Payload != "sentinel" {
		t.Fatalf("the script notified %q: a bare script must not notify", n.Payload)
	}
}

func TestHelpfulBareSuccess(t *testing.T) {
	pool, dbURL := seed(t)
	conn := listen(t, dbURL)
	// Reviews 2 and 3 only: 2 × 25 votes between them, nothing elsewhere.
	runPgbench(t, dbURL, "helpful_bare.sql", 25, "lo=2", "hi=3")
	var votes, others int
	if err := pool.QueryRow(t.Context(), `SELECT
		(SELECT sum(helpfulness) FROM reviews WHERE id IN (2, 3)),
		(SELECT sum(helpfulness) FROM reviews WHERE id NOT IN (2, 3))`).Scan(&votes, &others); err != nil {
		t.Fatal(err)
	}
	if votes != 50 || others != 1000 {
		t.Fatalf("votes on 2 and 3: %d, elsewhere %d; want 50 and the seeded 1000", votes, others)
	}
	assertNoNotification(t, pool, conn)
}

// post_bare.sql writes what POST /reviews writes: the review, its values
// for the characteristics meta shows (the lower id of two with one name),
// the sums and product_meta, and no notification.
func TestPostBareSuccess(t *testing.T) {
	dbURL := testdb.NewDatabase(t)
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), `INSERT INTO characteristics (product_id, name) VALUES
		(1, 'Fit'), (1, 'Fit'), (1, 'Length'), (2, 'Size')`); err != nil {
		t.Fatal(err)
	}
	conn := listen(t, dbURL)
	runPgbench(t, dbURL, "post_bare.sql", 10, "lo=1", "hi=1")

	var reviews, badPhotos, ratings, recommends int
	if err := pool.QueryRow(t.Context(), `SELECT count(*), count(*) FILTER (WHERE photos::text <> '[]'),
		(SELECT rating_1 + rating_2 + rating_3 + rating_4 + rating_5 FROM product_meta WHERE product_id = 1),
		(SELECT recommend_false + recommend_true FROM product_meta WHERE product_id = 1)
		FROM reviews WHERE product_id = 1`).Scan(&reviews, &badPhotos, &ratings, &recommends); err != nil {
		t.Fatal(err)
	}
	if reviews != 20 || badPhotos != 0 || ratings != 20 || recommends != 20 {
		t.Fatalf("reviews %d (photos not [] %d), meta ratings %d, recommends %d; want 20 each, no photos", reviews, badPhotos, ratings, recommends)
	}
	rows, err := pool.Query(t.Context(), `SELECT c.id, c.value_count, c.value_sum,
		(SELECT count(*) FROM characteristic_reviews cr WHERE cr.characteristic_id = c.id),
		(SELECT coalesce(sum(value), 0) FROM characteristic_reviews cr WHERE cr.characteristic_id = c.id)
		FROM characteristics c ORDER BY c.id`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]int{1: 20, 2: 0, 3: 20, 4: 0} // id 2 is the hidden second Fit; product 2 untouched
	n := 0
	for rows.Next() {
		var id, count, values int
		var sum, valueSum int64
		if err := rows.Scan(&id, &count, &sum, &values, &valueSum); err != nil {
			t.Fatal(err)
		}
		n++
		if count != want[id] || values != want[id] || sum != valueSum || (count > 0 && (sum < int64(count) || sum > 5*int64(count))) {
			t.Fatalf("characteristic %d: count %d sum %d, %d values summing %d; want %d values of 1..5 and matching sums",
				id, count, sum, values, valueSum, want[id])
		}
	}
	if err := rows.Err(); err != nil || n != 4 {
		t.Fatalf("%d characteristics, %v", n, err)
	}
	assertNoNotification(t, pool, conn)
}
