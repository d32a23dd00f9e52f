package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// review is one row the test stores.
type review struct {
	id          int
	name, key   string
	helpfulness int
}

func mustConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func insert(t *testing.T, conn *pgx.Conn, rows ...review) {
	t.Helper()
	for _, r := range rows {
		mustExec(t, conn, `INSERT INTO reviews (id, product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email, helpfulness)
VALUES ($1, 1, 5, now(), $2, 'a body of the review', true, $3, 'x@example.com', $4)`, r.id, r.key, r.name, r.helpfulness)
	}
}

// rec is one request line of a record file.
func rec(op string, status int, review int, key string) string {
	return fmt.Sprintf(`{"t":1000000,"ms":1.5,"op":%q,"status":%d,"review_id":%d,"key":%q}`, op, status, review, key)
}

func writeFile(t *testing.T, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every class of the durability count, by SQL against a real database: the
// snapshot before, the writes the run made (and did not), the record.
func TestCountSuccess(t *testing.T) {
	url := testdb.NewDatabase(t)
	conn := mustConn(t, url)

	// Before the run: five reviews to vote on.
	insert(t, conn,
		review{1, "shop", "", 5}, review{2, "shop", "", 0}, review{3, "shop", "", 1},
		review{4, "shop", "", 0}, review{5, "shop", "", 0}, review{6, "shop", "", 7})
	before := filepath.Join(t.TempDir(), "before.csv")
	if code := run(t.Context(), []string{"snapshot", "-database-url", url, "-out", before}, os.Stdout, os.Stderr); code != 0 {
		t.Fatalf("snapshot exit %d", code)
	}

	// What the run stored.
	insert(t, conn,
		review{101, "load-r1", "r1-p1", 0}, // acknowledged, stored
		// r1-p2 acknowledged, missing
		review{103, "load-r1", "r1-p3", 0}, // told 503, stored
		review{104, "load-r1", "r1-p4", 0}, // acknowledged, stored twice
		review{105, "load-r1", "r1-p4", 0},
		// r1-p5: transport error, not stored
		review{106, "load-r1", "r1-p6", 0}, // stored, in no record line
		review{107, "load-r1", "r1-p7", 0}, // acknowledged as 999
		review{108, "load-r0", "r1-p8", 0}, // another run's
		review{109, "shop", "r1-p9", 0},    // not the load's
	)
	mustExec(t, conn, `UPDATE reviews SET helpfulness = helpfulness + CASE id
        WHEN 1 THEN 3 -- 3 acknowledged: as expected
        WHEN 2 THEN 1 -- 2 acknowledged: one lost
        WHEN 3 THEN 3 -- 1 acknowledged, 2 failed and committed
        WHEN 4 THEN 2 -- 1 acknowledged, counted twice
        WHEN 5 THEN 3 -- 1 acknowledged and 1 failed: both committed, one of them twice
        WHEN 101 THEN 1 -- posted after the snapshot, 1 acknowledged
        ELSE 0 END`)
	mustExec(t, conn, `DELETE FROM reviews WHERE id = 6`) // 1 acknowledged vote, review gone

	record := writeFile(t, "rec.jsonl",
		`{"t":1,"ms":0,"op":"start","status":0,"run_id":"r1"}`,
		rec("post", 201, 101, "r1-p1"),
		rec("post", 201, 102, "r1-p2"),
		rec("post", 503, 0, "r1-p3"),
		rec("post", 201, 104, "r1-p4"),
		`{"t":1000000,"ms":5000,"op":"post","status":0,"err":"timeout","key":"r1-p5"}`,
		rec("post", 201, 999, "r1-p7"),
		rec("post", 422, 0, "r1-p8"),
		rec("post", 422, 0, "r1-p9"),
		rec("helpful", 204, 1, ""), rec("helpful", 204, 1, ""), rec("helpful", 204, 1, ""),
		rec("helpful", 204, 2, ""), rec("helpful", 204, 2, ""),
		rec("helpful", 204, 3, ""), rec("helpful", 503, 3, ""), rec("helpful", 0, 3, ""),
		rec("helpful", 204, 4, ""),
		rec("helpful", 204, 5, ""), rec("helpful", 503, 5, ""),
		rec("helpful", 204, 6, ""),
		rec("helpful", 204, 101, ""),
		rec("report", 204, 1, ""),
		rec("list", 200, 0, ""),
	)
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"-database-url", url, "-record", record, "-before", before, "-drill", "d1"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := " post_acked=4 post_stored=3 post_missing=1 post_told_failure=2 post_twice=1 post_other_id=1" +
		" votes_acked=10 votes_lost=2 votes_told_failure=3 votes_twice=2\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Fatalf("want the result line to end with\n%s\ngot\n%s", want, out.String())
	}
	if !strings.Contains(out.String(), "d1: POST 4 acknowledged: 3 stored, 1 missing (1 under another id than the 201 gave); 2 stored but told failure; 1 stored twice\n") {
		t.Fatalf("figures for people:\n%s", out.String())
	}

	// Without a snapshot, votes are not counted (never counted as right).
	out.Reset()
	code = run(t.Context(), []string{"-database-url", url, "-record", record}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), " votes_acked=na votes_lost=na votes_told_failure=na votes_twice=na\n") {
		t.Fatalf("exit %d without -before:\n%s%s", code, out.String(), errOut.String())
	}
}

func TestSummarizeSuccess(t *testing.T) {
	const s = 1_000_000 // a second in microseconds
	run := &Run{ID: "r"}
	add := func(op string, status int, start int64, ms float64) {
		r := Record{Start: start, Ms: ms, Op: op, Status: status}
		if status == 0 {
			r.Err = "timeout"
		}
		run.Requests = append(run.Requests, r)
	}
	for i := range 95 {
		add("list", 200, int64(i)*s/10, 2)
	}
	add("post", 503, 1*s, 10)      // before the fault
	add("list", 0, 10*s+s/2, 5000) // a read timed out
	add("helpful", 503, 11*s, 3)   // a vote refused
	add("meta", 200, 12*s, 1500)   // slow
	add("post", 201, 13*s, 2500)   // slow
	ev := Events{"fault": 10 * s, "back": 14 * s}

	tr := Summarize(run, ev)
	if tr.Requests != 100 || tr.Failed != 3 || tr.FailedReads != 1 || tr.FailedBefore != 1 || tr.Over1s != 3 {
		t.Fatalf("%+v", tr)
	}
	if tr.ByStatus["list"]["timeout"] != 1 || tr.ByStatus["helpful"]["503"] != 1 || tr.ByStatus["post"]["503"] != 1 {
		t.Fatalf("by status %v", tr.ByStatus)
	}
	if tr.P99Ms != 2500 || tr.MaxMs != 5000 {
		t.Fatalf("p99 %v max %v, want 2500 and 5000", tr.P99Ms, tr.MaxMs)
	}
	// Failures after the fault: the timed-out read from +0.5s to +5.5s, the
	// vote at +1s; 15.5s is 1.5s after "back".
	if tr.FirstFail != 0.5 || tr.LastFail != 5.5 || tr.RecoveryS != 1.5 {
		t.Fatalf("first %v last %v recovery %v, want 0.5, 5.5, 1.5", tr.FirstFail, tr.LastFail, tr.RecoveryS)
	}

	// Nothing failed after the fault: recovery 0, no window.
	tr = Summarize(&Run{ID: "r", Requests: run.Requests[:96]}, ev)
	if tr.RecoveryS != 0 || !math.IsNaN(tr.LastFail) || tr.FailedBefore != 1 {
		t.Fatalf("%+v", tr)
	}
}

func TestReadFailure(t *testing.T) {
	f := func(text string) {
		t.Helper()
		if _, err := ReadRun(strings.NewReader(text)); err == nil {
			t.Errorf("ReadRun(%q): no error", text)
		}
	}
	f(rec("list", 200, 0, "") + "\n") // no start line
	f(`{"op":"start","run_id":"a"}` + "\n" + rec("delete", 200, 0, "") + "\n")
	f(`{"op":"start","run_id":"a"}` + "\n" + `{"op":"start","run_id":"b"}` + "\n")
	f(`{"op":"start","run_id":"a"}` + "\n{\n")
	if _, err := ReadEvents(strings.NewReader("12 fault extra\n")); err == nil {
		t.Error("ReadEvents: three fields, no error")
	}
	if _, err := ReadSnapshot(strings.NewReader("1,x\n")); err == nil {
		t.Error("ReadSnapshot: a bad number, no error")
	}
}

func TestRunUsageFailure(t *testing.T) {
	f := func(args ...string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, errOut.String())
		}
	}
	t.Setenv("DATABASE_URL", "")
	f("-record", "x")
	f("-database-url", "postgres://127.0.0.1/x")
	f("snapshot", "-database-url", "postgres://127.0.0.1/x")
	f("-database-url", "postgres://127.0.0.1/x", "-record", "x", "-drill", "two words")
	f("-database-url", "postgres://127.0.0.1/x", "-record", "x", "extra")
}
