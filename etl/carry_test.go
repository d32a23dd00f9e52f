package etl_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/etl"
	"github.com/catwalk/reviews/queries"
)

// post writes a review through the API's own statement, with key (if not
// empty), rating every characteristic meta shows for the product.
func post(t *testing.T, store *queries.Store, d db, product int32, photos []string, key string) int32 {
	t.Helper()
	var cids []int32
	for _, s := range queryStrings(t, d, `SELECT DISTINCT ON (name) id FROM characteristics WHERE product_id = $1 ORDER BY name, id`, product) {
		var id int32
		fmt.Sscan(s, &id)
		cids = append(cids, id)
	}
	vals := make([]int16, len(cids))
	for i := range vals {
		vals[i] = int16(1 + i%5)
	}
	r := &queries.NewReview{ProductID: product, Rating: 2, Summary: "posted", Body: strings.Repeat("b", 60), Recommend: true,
		Name: "api", Email: "api@x.y", Photos: photos, CharacteristicIDs: cids, Values: vals}
	var k *queries.IdempotencyKey
	if key != "" {
		h := sha256.Sum256([]byte(key))
		k = &queries.IdempotencyKey{Key: key, RequestHash: h[:]}
	}
	id, stored, err := store.CreateReview(t.Context(), r, k)
	if err != nil || stored != nil || id == 0 {
		t.Fatalf("post for product %d: id %d, stored %v, err %v", product, id, stored, err)
	}
	return id
}

// apiRows returns everything stored of the reviews ids: the review, its
// photos, its characteristic values.
func apiRows(t *testing.T, d db, ids []int32) []string {
	t.Helper()
	out := queryStrings(t, d, `SELECT id, product_id, rating, summary, recommend, reported, helpfulness, photos::text, via_api
		FROM reviews WHERE id = ANY ($1) ORDER BY id`, ids)
	out = append(out, queryStrings(t, d, `SELECT id, review_id, url FROM reviews_photos WHERE review_id = ANY ($1) ORDER BY id`, ids)...)
	return append(out, queryStrings(t, d, `SELECT characteristic_id, review_id, value FROM characteristic_reviews
		WHERE review_id = ANY ($1) ORDER BY review_id, characteristic_id`, ids)...)
}

func lastHanded(t *testing.T, d db, table string) int64 {
	t.Helper()
	var n int64
	seq := queryStrings(t, d, "SELECT pg_get_serial_sequence($1, 'id')", table)[0]
	if err := d.conn.QueryRow(t.Context(), "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM "+seq).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLoadCarriesAPIWrites writes reviews through the API's statement
// between two loads: they survive the second load whole (photos, values,
// their share of the read model, their idempotency keys), no id handed out
// before is handed out again, and a key whose review is gone is dropped.
func TestLoadCarriesAPIWrites(t *testing.T) {
	dir, _ := generate(t, 100, 0)
	conn := connect(t)
	mustLoad(t, conn, dir)
	pool, err := pgxpool.New(t.Context(), conn.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := queries.New(pool)

	a := post(t, store, conn, 1, []string{"https://x/a1.jpg", "https://x/a2.jpg"}, "key-a")
	b := post(t, store, conn, 2, nil, "key-b")
	c := post(t, store, conn, 2, []string{"https://x/c.jpg"}, "")
	if _, changed, err := store.ReportReview(t.Context(), b); err != nil || !changed {
		t.Fatalf("report %d: %v %v", b, changed, err)
	}
	// A keyed vote on c (its key stays while c does), and a vote key whose
	// review is gone (it goes).
	if _, _, err := store.MarkHelpful(t.Context(), c, &queries.IdempotencyKey{Key: "vote-c", RequestHash: queries.HelpfulRequest(c)}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.conn.Exec(t.Context(), `INSERT INTO idempotency_keys (key, request_hash, status, response)
		VALUES ('vote-gone', $1, 204, '')`, queries.HelpfulRequest(99999999)); err != nil {
		t.Fatal(err)
	}
	// Ids handed out and never stored (a POST that rolled back).
	if _, err := conn.conn.Exec(t.Context(), `SELECT nextval(pg_get_serial_sequence('reviews', 'id')), nextval(pg_get_serial_sequence('reviews_photos', 'id')),
		nextval(pg_get_serial_sequence('characteristic_reviews', 'id')) FROM generate_series(1, 3)`); err != nil {
		t.Fatal(err)
	}
	// A vote on a loaded review: carried over (TestLoadCarriesAPIVotes).
	if _, _, err := store.MarkHelpful(t.Context(), 1, nil); err != nil {
		t.Fatal(err)
	}
	ids := []int32{a, b, c}
	want := apiRows(t, conn, ids)
	handed := map[string]int64{}
	for _, tb := range []string{"reviews", "reviews_photos", "characteristic_reviews"} {
		handed[tb] = lastHanded(t, conn, tb)
	}
	voted := queryStrings(t, conn, "SELECT helpfulness FROM reviews WHERE id = 1")

	sum := mustLoad(t, conn, dir)
	if sum.Carried != 3 {
		t.Errorf("carried %d reviews, want 3", sum.Carried)
	}
	equalLists(t, "the API's reviews after a load", apiRows(t, conn, ids), want)
	equalLists(t, "helpfulness of a loaded review voted on", queryStrings(t, conn, "SELECT helpfulness FROM reviews WHERE id = 1"), voted)
	checkReadModel(t, conn)
	equalLists(t, "idempotency keys", queryStrings(t, conn, "SELECT key, convert_from(response, 'UTF8') FROM idempotency_keys ORDER BY key"),
		[]string{fmt.Sprintf(`key-a|{"review_id":%d}`, a), fmt.Sprintf(`key-b|{"review_id":%d}`, b), "vote-c|"})
	// No id is handed out twice.
	next := post(t, store, conn, 3, []string{"https://x/n.jpg"}, "key-n")
	if int64(next) <= handed["reviews"] {
		t.Errorf("new review id %d, want past %d, the last handed out before the load", next, handed["reviews"])
	}
	for _, tb := range []string{"reviews_photos", "characteristic_reviews"} {
		var newest int64
		if err := conn.conn.QueryRow(t.Context(), "SELECT max(id) FROM "+tb+" WHERE review_id = $1", next).Scan(&newest); err != nil {
			t.Fatal(err)
		}
		if newest <= handed[tb] {
			t.Errorf("%s: new id %d, want past %d, the last handed out before the load", tb, newest, handed[tb])
		}
	}

	// The next export holds a review with a's id, with a photo that has
	// the id of c's photo: the file wins, a is gone, and so is its key; c
	// stays, its photo under a new id.
	over := copyDir(t, dir)
	var photo int32
	if err := conn.conn.QueryRow(t.Context(), "SELECT min(id) FROM reviews_photos WHERE review_id = $1", c).Scan(&photo); err != nil {
		t.Fatal(err)
	}
	appendLine(t, filepath.Join(over, etl.ReviewsFile), fmt.Sprintf(`%d,5,3,1596080481467,"s","from the file",true,false,"n","e",null,0`, a))
	appendLine(t, filepath.Join(over, etl.PhotosFile), fmt.Sprintf(`%d,%d,"https://x/file.jpg"`, photo, a))
	handedReviews := lastHanded(t, conn, "reviews")
	sum = mustLoad(t, conn, over)
	if sum.Carried != 3 { // b, c and next
		t.Errorf("carried %d reviews, want 3", sum.Carried)
	}
	equalLists(t, "review with a's id", queryStrings(t, conn, "SELECT product_id, body, via_api, photos::text FROM reviews WHERE id = $1", a),
		[]string{fmt.Sprintf(`5|from the file|false|[{"id":%d,"url":"https://x/file.jpg"}]`, photo)})
	equalLists(t, "idempotency keys", queryStrings(t, conn, "SELECT key FROM idempotency_keys ORDER BY key"), []string{"key-b", "key-n", "vote-c"})
	// c's photo, whose id the file took, has a new one.
	got := queryStrings(t, conn, "SELECT id, url FROM reviews_photos WHERE review_id = $1", c)
	if len(got) != 1 || strings.HasPrefix(got[0], fmt.Sprint(photo)+"|") || !strings.HasSuffix(got[0], "|https://x/c.jpg") {
		t.Errorf("c's photos %v, want c.jpg under a new id", got)
	}
	checkReadModel(t, conn)
	if id := post(t, store, conn, 3, nil, ""); int64(id) <= handedReviews {
		t.Errorf("new review id %d, want past %d", id, handedReviews)
	}
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// TestLoadCarriesWritesDuringLoad writes through the API between the
// carry-over before the switch and the switch-over: the switch carries the
// new review and applies the vote and the report made on reviews carried
// already, and the votes and the report made on loaded reviews, aggregates
// included.
func TestLoadCarriesWritesDuringLoad(t *testing.T) {
	dir, _ := generate(t, 100, 0)
	conn := connect(t)
	mustLoad(t, conn, dir)
	pool, err := pgxpool.New(t.Context(), conn.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := queries.New(pool)
	a := post(t, store, conn, 1, []string{"https://x/a.jpg"}, "key-a")
	b := post(t, store, conn, 2, nil, "key-b")
	// Loaded reviews: x voted on before the load and during it, y and z
	// during it only.
	loaded := loadedReviews(t, conn, 3)
	x, y, z := loaded[0], loaded[1], loaded[2]
	hx, hy, hz := fileHelpfulness(t, conn, x), fileHelpfulness(t, conn, y), fileHelpfulness(t, conn, z)
	vote(t, store, x, "")
	wantVotes := []string{
		fmt.Sprintf("%d|%d|false|2|false", x, hx+2),
		fmt.Sprintf("%d|%d|false|1|false", y, hy+1),
		fmt.Sprintf("%d|%d|true|0|true", z, hz),
	}

	var c int32
	var want []string
	defer etl.SetPreCarried(func() {
		// The carry-over before the switch carried x's first vote, so
		// the switch-over adds only the votes and reports made since.
		equalLists(t, "x staged before the switch-over", queryStrings(t, conn, "SELECT helpfulness, api_helpful FROM load_reviews WHERE id = $1", x),
			[]string{fmt.Sprintf("%d|1", hx+1)})
		vote(t, store, x, "vote-x")
		vote(t, store, y, "")
		report(t, store, z)
		c = post(t, store, conn, 2, []string{"https://x/c1.jpg", "https://x/c2.jpg"}, "key-c")
		if _, _, err := store.MarkHelpful(t.Context(), a, nil); err != nil {
			t.Error(err)
		}
		if _, changed, err := store.ReportReview(t.Context(), b); err != nil || !changed {
			t.Errorf("report %d: %v %v", b, changed, err)
		}
		want = apiRows(t, conn, []int32{a, b, c})
	})()
	sum := mustLoad(t, conn, dir)
	if c == 0 {
		t.Fatal("the load did not stop between its carry-over and its switch-over")
	}
	if sum.Carried != 3 {
		t.Errorf("carried %d reviews, want 3", sum.Carried)
	}
	equalLists(t, "the API's reviews after a load", apiRows(t, conn, []int32{a, b, c}), want)
	equalLists(t, "votes and report on loaded reviews after a load", voteState(t, conn, loaded), wantVotes)
	checkReadModel(t, conn)
	equalLists(t, "idempotency keys", queryStrings(t, conn, "SELECT key FROM idempotency_keys ORDER BY key"), []string{"key-a", "key-b", "key-c", "vote-x"})
}

// loadedReviews returns the first n loaded reviews that the files do not
// report and that have characteristic values (a report takes them out of
// the sums).
func loadedReviews(t *testing.T, d db, n int) []int32 {
	t.Helper()
	var ids []int32
	for _, s := range queryStrings(t, d, `SELECT id FROM reviews r
		WHERE NOT via_api AND NOT reported AND EXISTS (SELECT FROM characteristic_reviews cr WHERE cr.review_id = r.id)
		ORDER BY id LIMIT $1`, n) {
		var id int32
		fmt.Sscan(s, &id)
		ids = append(ids, id)
	}
	if len(ids) != n {
		t.Fatalf("%d loaded reviews to vote on, want %d", len(ids), n)
	}
	return ids
}

// voteState returns, per review of ids, "id|helpfulness|reported|api_helpful|api_reported".
func voteState(t *testing.T, d db, ids []int32) []string {
	t.Helper()
	return queryStrings(t, d, `SELECT id, helpfulness, reported, api_helpful, api_reported
		FROM reviews WHERE id = ANY ($1) ORDER BY id`, ids)
}

// fileHelpfulness returns the helpfulness of review id as served.
func fileHelpfulness(t *testing.T, d db, id int32) int {
	t.Helper()
	var h int
	fmt.Sscan(queryStrings(t, d, "SELECT helpfulness FROM reviews WHERE id = $1", id)[0], &h)
	return h
}

// vote votes for review id through the API's statement, with key if not
// empty.
func vote(t *testing.T, store *queries.Store, id int32, key string) {
	t.Helper()
	var k *queries.IdempotencyKey
	if key != "" {
		k = &queries.IdempotencyKey{Key: key, RequestHash: queries.HelpfulRequest(id)}
	}
	if _, stored, err := store.MarkHelpful(t.Context(), id, k); err != nil || stored != nil {
		t.Fatalf("vote for %d: stored %v, err %v", id, stored, err)
	}
}

func report(t *testing.T, store *queries.Store, id int32) {
	t.Helper()
	if _, changed, err := store.ReportReview(t.Context(), id); err != nil || !changed {
		t.Fatalf("report %d: %v %v", id, changed, err)
	}
}

// TestLoadCarriesAPIVotes votes (with and without a key) and reports
// through the API's statements on loaded reviews: a load keeps them on the
// loaded reviews with the same ids, read model included, and so does the
// next load (the export never holds them); a review the files no longer
// hold takes its votes with it.
func TestLoadCarriesAPIVotes(t *testing.T) {
	dir, _ := generate(t, 100, 0)
	conn := connect(t)
	mustLoad(t, conn, dir)
	pool, err := pgxpool.New(t.Context(), conn.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := queries.New(pool)

	ids := loadedReviews(t, conn, 3)
	v1, v2, rep := ids[0], ids[1], ids[2]
	h1, h2, h3 := fileHelpfulness(t, conn, v1), fileHelpfulness(t, conn, v2), fileHelpfulness(t, conn, rep)
	vote(t, store, v1, "")
	vote(t, store, v1, "vote-1")
	vote(t, store, v2, "vote-2")
	report(t, store, rep)
	vote(t, store, rep, "")
	want := []string{
		fmt.Sprintf("%d|%d|false|2|false", v1, h1+2),
		fmt.Sprintf("%d|%d|false|1|false", v2, h2+1),
		fmt.Sprintf("%d|%d|true|1|true", rep, h3+1),
	}
	equalLists(t, "votes and report before the load", voteState(t, conn, ids), want)

	equalLists(t, "reviews the API changed since the last load", queryStrings(t, conn, "SELECT id FROM reviews WHERE api_pending ORDER BY id"),
		[]string{fmt.Sprint(v1), fmt.Sprint(v2), fmt.Sprint(rep)})

	mustLoad(t, conn, dir)
	equalLists(t, "votes and report after a load", voteState(t, conn, ids), want)
	checkReadModel(t, conn)
	equalLists(t, "reviews the API changed since the last load", queryStrings(t, conn, "SELECT id FROM reviews WHERE api_pending"), nil)

	// Another vote, then the next export, which lacks v2: v2 goes with its
	// votes, the others keep theirs.
	vote(t, store, v1, "")
	over := copyDir(t, dir)
	dropReview(t, filepath.Join(over, etl.ReviewsFile), v2)
	mustLoad(t, conn, over)
	equalLists(t, "votes and report after the next load", voteState(t, conn, ids), []string{
		fmt.Sprintf("%d|%d|false|3|false", v1, h1+3),
		fmt.Sprintf("%d|%d|true|1|true", rep, h3+1),
	})
	checkReadModel(t, conn)

	// v2 is back in the export after that: the file's value, no votes.
	mustLoad(t, conn, dir)
	equalLists(t, "votes after v2 came back", voteState(t, conn, []int32{v2}), []string{fmt.Sprintf("%d|%d|false|0|false", v2, h2)})
	checkReadModel(t, conn)
}

// dropReview removes review id's line from the reviews file at path.
func dropReview(t *testing.T, path string, id int32) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	var kept []string
	for _, l := range lines {
		if !strings.HasPrefix(l, fmt.Sprintf("%d,", id)) {
			kept = append(kept, l)
		}
	}
	if len(kept) != len(lines)-1 {
		t.Fatalf("%s: %d lines of review %d, want 1", path, len(lines)-len(kept), id)
	}
	if err := os.WriteFile(path, []byte(strings.Join(kept, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}
