package etl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catwalk/reviews/etl"
)

// TestLoadTricky loads hand-written files holding every kind of bad row and
// every quoting trap, and checks counts, rejects (golden files), the rows
// kept, the read model and the sequences.
func TestLoadTricky(t *testing.T) {
	conn := connect(t)
	rejects := t.TempDir()
	sum, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: "testdata/tricky", RejectsDir: rejects, MaxRejectRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := func(file string, loaded, rejected int64) {
		t.Helper()
		got := sum.Stats(file)
		if got.Loaded != loaded || got.Rejected != rejected {
			t.Errorf("%s: loaded %d rejected %d, want %d and %d", file, got.Loaded, got.Rejected, loaded, rejected)
		}
		b, err := os.ReadFile(filepath.Join(rejects, file))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "tricky", "rejects", file+".golden")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(want) {
			t.Errorf("%s rejects:\n%s\nwant:\n%s", file, b, want)
		}
	}
	f(etl.ReviewsFile, 5, 16)
	f(etl.PhotosFile, 4, 6)
	f(etl.CharacteristicsFile, 5, 2)
	f(etl.CharacteristicReviewsFile, 7, 7)
	if !sum.PhotosMerged {
		t.Error("the kept photos are in review order, but were not merged")
	}

	equalLists(t, "reviews", queryStrings(t, conn, `SELECT id, product_id, rating, (extract(epoch FROM date)*1000)::bigint,
		summary, body, recommend, reported, reviewer_name, reviewer_email, coalesce(response, 'NULL'), helpfulness, photos::text
		FROM reviews ORDER BY id`), []string{
		`1|1|5|1596080481467|Comma, inside|Line one` + "\n" + `line two with "quotes", and a comma|true|false|funtime|first.last@gmail.com|NULL|8|[{"id":1,"url":"https://x/a \"q\".jpg"},{"id":2,"url":"https://x/b.jpg?a=1&b=2"}]`,
		`2|1|4|1596080481468|Bare summary|body|false|false|a|a@b.c|NULL|0|[{"id":3,"url":"https://x/c\\d.jpg"}]`,
		`3|1|3|1596080481469|s|b|true|true|r|r@x.y||2|[{"id":6,"url":"https://x/tab\there"}]`,
		`4|2|5|1596080481470|s|b|true|false|n|e|Thanks!|0|[]`,
		`15|1|2|1596080481480|crlf|b|false|false|n|e|NULL|2147483647|[]`,
	})
	equalLists(t, "product_meta", queryStrings(t, conn,
		`SELECT product_id, rating_1, rating_2, rating_3, rating_4, rating_5, recommend_false, recommend_true FROM product_meta ORDER BY 1`),
		[]string{"1|0|1|0|1|1|2|1", "2|0|0|0|0|1|0|1"})
	equalLists(t, "characteristics", queryStrings(t, conn,
		`SELECT id, product_id, name, value_sum, value_count FROM characteristics ORDER BY 1`),
		[]string{"1|1|Fit|9|2", "2|1|Length|9|3", "3|2|Quality|5|1", "5|1|Comfort|0|0", "6|3|Width|0|0"})
	equalLists(t, "characteristic_reviews", queryStrings(t, conn,
		`SELECT id, characteristic_id, review_id, value FROM characteristic_reviews ORDER BY 1`),
		[]string{"1|1|1|4", "2|2|1|3", "3|1|2|5", "4|2|2|2", "5|1|3|1", "6|3|4|5", "13|2|15|4"})
	equalLists(t, "photos", queryStrings(t, conn, `SELECT id, review_id FROM reviews_photos ORDER BY 1`),
		[]string{"1|1", "2|1", "3|2", "6|3"})
	checkReadModel(t, conn)
	checkSequences(t, conn, map[string]int64{"reviews": 16, "reviews_photos": 7, "characteristics": 7, "characteristic_reviews": 14})
}

// checkSequences inserts a row into each table without an id and checks the
// id it gets: one past the largest loaded id.
func checkSequences(t *testing.T, conn pgxConn, want map[string]int64) {
	t.Helper()
	f := func(table, insert string) {
		t.Helper()
		var id int64
		if err := conn.conn.QueryRow(t.Context(), insert).Scan(&id); err != nil {
			t.Fatalf("%s: %v", insert, err)
		}
		if id != want[table] {
			t.Errorf("%s: new id %d, want %d", table, id, want[table])
		}
	}
	f("reviews", `INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
		VALUES (1, 5, now(), 's', 'b', true, 'n', 'e') RETURNING id`)
	f("reviews_photos", `INSERT INTO reviews_photos (review_id, url) VALUES (1, 'u') RETURNING id`)
	f("characteristics", `INSERT INTO characteristics (product_id, name) VALUES (1, 'Fit') RETURNING id`)
	f("characteristic_reviews", `INSERT INTO characteristic_reviews (characteristic_id, review_id, value) VALUES (1, 1, 3) RETURNING id`)
}

// TestLoadGeneratedDirty loads a generated dirty dataset: every bad row the
// generator wrote is rejected with the reason of its kind, everything else
// is loaded, and the read model equals its recomputation in SQL.
func TestLoadGeneratedDirty(t *testing.T) {
	// Small batches: the values are checked while the reviews stream in.
	defer etl.SetFeedBatchSize(7)()
	conn := connect(t)
	dir, counts := generate(t, 400, 0.05)
	rejects := t.TempDir()
	sum, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: dir, RejectsDir: rejects, MaxRejectRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.PhotosMerged {
		t.Error("generated files are in review order, but the photos were not merged")
	}
	rows := map[string]int64{
		etl.ReviewsFile: counts.Reviews, etl.PhotosFile: counts.Photos,
		etl.CharacteristicsFile: counts.Characteristics, etl.CharacteristicReviewsFile: counts.CharacteristicReviews,
	}
	for _, file := range etl.Files {
		st := sum.Stats(file)
		bad := counts.BadTotal(file)
		if bad == 0 {
			t.Errorf("%s: the generator wrote no bad rows", file)
		}
		if st.Rejected != bad || st.Loaded != rows[file]-bad {
			t.Errorf("%s: loaded %d rejected %d, want %d and %d", file, st.Loaded, st.Rejected, rows[file]-bad, bad)
		}
		got := rejectReasons(t, filepath.Join(rejects, file))
		for kind, n := range counts.Bad[file] {
			if got[kind] != n {
				t.Errorf("%s: %d rejects %q, want %d", file, got[kind], kind, n)
			}
		}
		if len(got) != len(counts.Bad[file]) {
			t.Errorf("%s: reject reasons %v, want the kinds %v", file, got, counts.Bad[file])
		}
	}
	checkReadModel(t, conn)
}

// rejectReasons counts a rejects file's rows by reason, with the products
// of a cross-product reference left out.
func rejectReasons(t *testing.T, path string) map[string]int64 {
	t.Helper()
	recs := readCSV(t, path)
	got := map[string]int64{}
	for _, r := range recs[1:] {
		reason := r[1]
		if strings.HasPrefix(reason, "characteristic_id: characteristic of product ") {
			reason = "characteristic_id: characteristic of another product"
		}
		got[reason]++
	}
	return got
}

// checkReadModel compares the read model with its recomputation in plain
// SQL from the loaded rows.
func checkReadModel(t *testing.T, conn pgxConn) {
	t.Helper()
	f := func(what, sql string) {
		t.Helper()
		if diff := queryStrings(t, conn, sql); len(diff) > 0 {
			t.Errorf("%s differs from its recomputation in %d rows, e.g. %s", what, len(diff), diff[0])
		}
	}
	f("reviews.photos", `SELECT r.id FROM reviews r
		LEFT JOIN (SELECT review_id,
		                  '[' || string_agg('{"id":' || id || ',"url":' || to_json(url)::text || '}', ',' ORDER BY id) || ']' AS t,
		                  '[' || string_agg(json_build_object('id', id, 'url', url)::jsonb::text, ',' ORDER BY id) || ']' AS j
		           FROM reviews_photos GROUP BY review_id) p ON p.review_id = r.id
		WHERE r.photos::text <> coalesce(p.t, '[]') OR r.photos::jsonb <> coalesce(p.j, '[]')::jsonb`)
	f("product_meta", `(SELECT product_id, rating_1, rating_2, rating_3, rating_4, rating_5, recommend_false, recommend_true FROM product_meta
		EXCEPT
		SELECT product_id, count(*) FILTER (WHERE rating = 1 AND NOT reported), count(*) FILTER (WHERE rating = 2 AND NOT reported),
		       count(*) FILTER (WHERE rating = 3 AND NOT reported), count(*) FILTER (WHERE rating = 4 AND NOT reported),
		       count(*) FILTER (WHERE rating = 5 AND NOT reported), count(*) FILTER (WHERE NOT recommend AND NOT reported),
		       count(*) FILTER (WHERE recommend AND NOT reported)
		FROM reviews GROUP BY product_id)
		UNION ALL
		(SELECT product_id, 0, 0, 0, 0, 0, 0, 0 FROM reviews EXCEPT SELECT product_id, 0, 0, 0, 0, 0, 0, 0 FROM product_meta)`)
	f("characteristics sums", `SELECT c.id FROM characteristics c
		LEFT JOIN (SELECT cr.characteristic_id, sum(cr.value) AS s, count(*) AS n FROM characteristic_reviews cr
		           JOIN reviews r ON r.id = cr.review_id WHERE NOT r.reported GROUP BY 1) a ON a.characteristic_id = c.id
		WHERE c.value_sum <> coalesce(a.s, 0) OR c.value_count <> coalesce(a.n, 0)`)
	f("score", `SELECT id FROM reviews
		WHERE score <> log(1 + helpfulness::double precision) + extract(epoch FROM date)::double precision / 2592000`)
	f("references", `SELECT 'photo ' || p.id FROM reviews_photos p LEFT JOIN reviews r ON r.id = p.review_id WHERE r.id IS NULL
		UNION ALL SELECT 'value ' || cr.id FROM characteristic_reviews cr
		LEFT JOIN reviews r ON r.id = cr.review_id LEFT JOIN characteristics c ON c.id = cr.characteristic_id
		WHERE r.id IS NULL OR c.id IS NULL OR r.product_id <> c.product_id`)
}

// TestLoadUnsortedPhotos loads photos that are not in review order: the
// merge sets the rows aside, or, past its limit, the photos JSON is filled
// in with SQL afterwards; either way it comes out byte for byte the same.
func TestLoadUnsortedPhotos(t *testing.T) {
	dir, _ := generate(t, 300, 0.02)
	sorted := connect(t)
	mustLoad(t, sorted, dir)
	want := queryStrings(t, sorted, "SELECT id, photos::text FROM reviews ORDER BY id")

	reversed := copyDir(t, dir)
	path := filepath.Join(reversed, etl.PhotosFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i, j := 1, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := func(maxOutliers int, wantMerged bool) {
		t.Helper()
		defer etl.SetMaxOutliers(maxOutliers)()
		conn := connect(t)
		sum := mustLoad(t, conn, reversed)
		if sum.PhotosMerged != wantMerged {
			t.Errorf("max outliers %d: merged %v, want %v", maxOutliers, sum.PhotosMerged, wantMerged)
		}
		equalLists(t, "photos", queryStrings(t, conn, "SELECT id, photos::text FROM reviews ORDER BY id"), want)
		checkReadModel(t, conn)
	}
	f(1<<16, true)
	f(10, false)
}

// snapshot returns every loaded table's content and the sequences' states.
func snapshot(t *testing.T, conn pgxConn) []string {
	t.Helper()
	var out []string
	for _, sql := range []string{
		"SELECT md5(string_agg(r::text, ',' ORDER BY id)) FROM reviews r",
		"SELECT md5(string_agg(p::text, ',' ORDER BY id)) FROM reviews_photos p",
		"SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM characteristics c",
		"SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM characteristic_reviews c",
		"SELECT md5(string_agg(m::text, ',' ORDER BY product_id)) FROM product_meta m",
		"SELECT count(*) FROM reviews",
		"SELECT last_value || ' ' || is_called FROM reviews_id_seq",
		"SELECT last_value || ' ' || is_called FROM characteristic_reviews_id_seq",
	} {
		out = append(out, queryStrings(t, conn, sql)...)
	}
	return out
}

// indexes lists the indexes of the loaded tables with their definitions.
func indexes(t *testing.T, conn pgxConn) []string {
	t.Helper()
	return queryStrings(t, conn, `SELECT tablename, indexname, indexdef FROM pg_indexes
		WHERE schemaname = 'public' AND tablename IN ('reviews', 'reviews_photos', 'characteristics', 'characteristic_reviews', 'product_meta')
		ORDER BY 1, 2`)
}

// TestLoadRepeat loads the same files twice: same state, no duplicates, and
// the tables keep exactly the indexes they had, those of the migrations and
// any other.
func TestLoadRepeat(t *testing.T) {
	dir, _ := generate(t, 200, 0.01)
	conn := connect(t)
	if _, err := conn.conn.Exec(t.Context(), "CREATE UNIQUE INDEX reviews_other_idx ON reviews (lower(reviewer_email), id) WHERE reported"); err != nil {
		t.Fatal(err)
	}
	migrated := indexes(t, conn)
	mustLoad(t, conn, dir)
	first := snapshot(t, conn)
	mustLoad(t, conn, dir)
	equalLists(t, "state after a second load", snapshot(t, conn), first)
	equalLists(t, "indexes", indexes(t, conn), migrated)
	checkReadModel(t, conn)
}

// TestLoadFailureKeepsData fails a load after the reviews were copied: the
// data of the previous load stays as it was.
func TestLoadFailureKeepsData(t *testing.T) {
	dir, _ := generate(t, 100, 0)
	conn := connect(t)
	mustLoad(t, conn, dir)
	before := snapshot(t, conn)

	other, _ := generate(t, 150, 0)
	broken := filepath.Join(other, etl.CharacteristicReviewsFile)
	if err := os.WriteFile(broken, []byte("id,review_id,characteristic_id,value\n1,1,1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := etl.Load(t.Context(), conn.url, etl.Options{Dir: other, RejectsDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("load with a wrong header: err %v, want a header error", err)
	}
	equalLists(t, "state after a failed load", snapshot(t, conn), before)

	// The next load clears whatever the failed one left behind.
	mustLoad(t, conn, dir)
	equalLists(t, "state after loading the first files again", snapshot(t, conn), before)
	if n := queryStrings(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'load\\_%'"); n[0] != "0" {
		t.Errorf("%s staging tables left after a load", n[0])
	}
}

// TestLoadUnsortedReviews loads reviews out of id order: the characteristic
// values, checked while the reviews stream in, are checked again once all
// reviews are known, and none is lost.
func TestLoadUnsortedReviews(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		etl.ReviewsFile: "id,product_id,rating,date,summary,body,recommend,reported,reviewer_name,reviewer_email,response,helpfulness\n" +
			"3,1,5,1596080481467,s,b,true,false,n,e,null,0\n" +
			"9,1,4,1596080481467,s,b,true,false,n,e,null,0\n" +
			"1,1,3,1596080481467,s,b,true,false,n,e,null,0\n" +
			"5,1,2,1596080481467,s,b,false,true,n,e,null,0\n",
		etl.PhotosFile:          "id,review_id,url\n1,1,u1\n2,3,u3\n3,9,u9\n",
		etl.CharacteristicsFile: "id,product_id,name\n1,1,Fit\n",
		etl.CharacteristicReviewsFile: "id,characteristic_id,review_id,value\n" +
			"1,1,3,5\n2,1,9,4\n3,1,1,3\n4,1,5,1\n5,1,7,1\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conn := connect(t)
	sum := mustLoad(t, conn, dir)
	if st := sum.Stats(etl.CharacteristicReviewsFile); st.Loaded != 4 || st.Rejected != 1 {
		t.Errorf("characteristic_reviews: loaded %d rejected %d, want 4 and 1", st.Loaded, st.Rejected)
	}
	equalLists(t, "characteristics", queryStrings(t, conn, "SELECT id, value_sum, value_count FROM characteristics"), []string{"1|12|3"})
	equalLists(t, "photos", queryStrings(t, conn, "SELECT id, photos::text FROM reviews ORDER BY id"), []string{
		`1|[{"id":1,"url":"u1"}]`, `3|[{"id":2,"url":"u3"}]`, `5|[]`, `9|[{"id":3,"url":"u9"}]`,
	})
	checkReadModel(t, conn)
}
