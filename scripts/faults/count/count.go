package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Record is one line of bench/load's -record file (bench/load/record.go):
// the first has Op "start" and the run id, every other is one request.
type Record struct {
	Start   int64   `json:"t"`  // sent, Unix microseconds
	Ms      float64 `json:"ms"` // until the answer
	Op      string  `json:"op"`
	Status  int     `json:"status"` // 0: transport error
	Err     string  `json:"err,omitempty"`
	Product int     `json:"product_id,omitempty"`
	Review  int     `json:"review_id,omitempty"`
	Key     string  `json:"key,omitempty"`
	RunID   string  `json:"run_id,omitempty"`
}

// end is when the answer came, Unix microseconds.
func (r *Record) end() int64 { return r.Start + int64(r.Ms*1000) }

// wantStatus is each operation's success status (API.md), as bench/load
// judges it.
var wantStatus = map[string]int{"list": 200, "meta": 200, "post": 201, "helpful": 204, "report": 204}

func (r *Record) failed() bool { return r.Status != wantStatus[r.Op] }

// outcome names a failed request's answer: its status, or its transport
// error.
func (r *Record) outcome() string {
	if r.Status == 0 {
		if r.Err == "" {
			return "error"
		}
		return strings.ReplaceAll(r.Err, " ", "_")
	}
	return strconv.Itoa(r.Status)
}

// Run is a record file read whole.
type Run struct {
	ID       string
	Requests []Record
}

// ReadRun reads a record file.
func ReadRun(r io.Reader) (*Run, error) {
	run := &Run{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("record line %d: %w", line, err)
		}
		if rec.Op == "start" {
			if run.ID != "" {
				return nil, fmt.Errorf("record line %d: a second start line", line)
			}
			run.ID = rec.RunID
			continue
		}
		if _, ok := wantStatus[rec.Op]; !ok {
			return nil, fmt.Errorf("record line %d: unknown op %q", line, rec.Op)
		}
		run.Requests = append(run.Requests, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if run.ID == "" {
		return nil, errors.New("record: no start line with the run id (was it written by bench/load -record?)")
	}
	return run, nil
}

// Events are the moments a drill noted (scripts/faults/drills.sh): lines
// "<Unix microseconds> <name>". "fault" is when the fault began, "back"
// when it ended (the database accepted connections again, the frozen
// processes were resumed, the last instance was ready again).
type Events map[string]int64

// ReadEvents reads an events file; a name given twice keeps its last time.
func ReadEvents(r io.Reader) (Events, error) {
	ev := Events{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("events line %d: want \"<unix microseconds> <name>\", got %q", line, sc.Text())
		}
		t, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("events line %d: %w", line, err)
		}
		ev[f[1]] = t
	}
	return ev, sc.Err()
}

// Traffic is what the requests of a run show, without the database.
type Traffic struct {
	Requests, Failed, FailedReads int
	// ByOp is "op status=n …" of the failed requests of each operation.
	ByStatus map[string]map[string]int
	P99Ms    float64
	MaxMs    float64
	Over1s   int
	// FailedBefore counts failures that ended before the "fault" event.
	FailedBefore int
	// FirstFail and LastFail are the first failed request's start and the
	// last one's answer, in seconds after "fault" (NaN: none, or no fault
	// event); RecoveryS is the last failure's answer in seconds after
	// "back" (after "fault" when the drill noted no "back"), 0 when none
	// came later.
	FirstFail, LastFail, RecoveryS float64
}

// Summarize computes the traffic figures of run, timed against ev.
func Summarize(run *Run, ev Events) Traffic {
	tr := Traffic{ByStatus: map[string]map[string]int{}, FirstFail: math.NaN(), LastFail: math.NaN()}
	fault, hasFault := ev["fault"]
	back, hasBack := ev["back"]
	if !hasBack {
		back, hasBack = fault, hasFault
	}
	ms := make([]float64, 0, len(run.Requests))
	var first, last int64
	for i := range run.Requests {
		r := &run.Requests[i]
		tr.Requests++
		ms = append(ms, r.Ms)
		if r.Ms > 1000 {
			tr.Over1s++
		}
		if !r.failed() {
			continue
		}
		tr.Failed++
		if r.Op == "list" || r.Op == "meta" {
			tr.FailedReads++
		}
		if tr.ByStatus[r.Op] == nil {
			tr.ByStatus[r.Op] = map[string]int{}
		}
		tr.ByStatus[r.Op][r.outcome()]++
		if hasFault && r.end() < fault {
			tr.FailedBefore++
			continue
		}
		if first == 0 || r.Start < first {
			first = r.Start
		}
		last = max(last, r.end())
	}
	if len(ms) > 0 {
		slices.Sort(ms)
		tr.P99Ms = ms[int(math.Ceil(0.99*float64(len(ms))))-1]
		tr.MaxMs = ms[len(ms)-1]
	}
	if hasFault && last != 0 {
		tr.FirstFail = float64(first-fault) / 1e6
		tr.LastFail = float64(last-fault) / 1e6
	}
	if hasBack && last > back {
		tr.RecoveryS = float64(last-back) / 1e6
	}
	return tr
}

// Writes is the durability count.
type Writes struct {
	// POST /reviews, by Idempotency-Key: acknowledged (201) and a review
	// stored with that key; acknowledged and no review; a review stored
	// with a key that got no 201 (or that the record does not hold);
	// reviews beyond the first stored with one key. OtherID counts
	// acknowledged keys whose stored reviews all have another id than the
	// one the 201 returned.
	PostAcked, PostStored, PostMissing, PostToldFailure, PostTwice, PostOtherID int
	// PUT …/helpful, by review: expected = helpfulness before the run + its
	// 204s. Lost is the shortfall; an excess is put down to the requests
	// of that review that failed (they may have committed) up to their
	// number, the rest counted twice. Votes are counted only when the
	// helpfulness before the run is known.
	VotesCounted                                        bool
	VotesAcked, VotesLost, VotesToldFailure, VotesTwice int
}

// Count classifies the writes of run against the database: the reviews
// marked with the run's id, and the helpfulness of every review voted on
// compared with before (id → helpfulness; nil when not taken).
func Count(ctx context.Context, conn *pgx.Conn, run *Run, before map[int]int) (Writes, error) {
	var w Writes
	tx, err := conn.Begin(ctx)
	if err != nil {
		return w, err
	}
	defer tx.Rollback(ctx) // temporary tables only: nothing to keep

	_, err = tx.Exec(ctx, `CREATE TEMP TABLE fault_posts (key text PRIMARY KEY, acked boolean NOT NULL, review_id integer) ON COMMIT DROP`)
	if err != nil {
		return w, err
	}
	posts := map[string]*[3]any{}
	for _, r := range run.Requests {
		if r.Op != "post" || r.Key == "" {
			continue
		}
		p := posts[r.Key]
		if p == nil {
			p = &[3]any{r.Key, false, nil}
			posts[r.Key] = p
		}
		if r.Status == 201 {
			p[1], p[2] = true, int32(r.Review)
		}
	}
	rows := make([][]any, 0, len(posts))
	for _, p := range posts {
		rows = append(rows, p[:])
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"fault_posts"}, []string{"key", "acked", "review_id"}, pgx.CopyFromRows(rows)); err != nil {
		return w, err
	}
	// A stored review of the run is one with its marker as reviewer_name;
	// its summary is its key (bench/load/record.go).
	err = tx.QueryRow(ctx, `
WITH stored AS (
    SELECT summary AS key, count(*) AS n, array_agg(id) AS ids
    FROM reviews WHERE reviewer_name = $1 GROUP BY summary
)
SELECT count(*) FILTER (WHERE p.acked),
       count(*) FILTER (WHERE p.acked AND s.n IS NOT NULL),
       count(*) FILTER (WHERE p.acked AND s.n IS NULL),
       count(*) FILTER (WHERE NOT coalesce(p.acked, false) AND s.n IS NOT NULL),
       coalesce(sum(s.n - 1) FILTER (WHERE s.n > 1), 0),
       count(*) FILTER (WHERE p.acked AND s.n IS NOT NULL AND NOT p.review_id = ANY (s.ids))
FROM fault_posts p FULL JOIN stored s ON s.key = p.key`, "load-"+run.ID).
		Scan(&w.PostAcked, &w.PostStored, &w.PostMissing, &w.PostToldFailure, &w.PostTwice, &w.PostOtherID)
	if err != nil {
		return w, fmt.Errorf("count POSTs: %w", err)
	}
	if before == nil {
		return w, nil
	}

	w.VotesCounted = true
	_, err = tx.Exec(ctx, `
CREATE TEMP TABLE fault_votes (review_id integer PRIMARY KEY, before integer, acked integer NOT NULL, failed integer NOT NULL) ON COMMIT DROP`)
	if err != nil {
		return w, err
	}
	votes := map[int]*[4]any{}
	for _, r := range run.Requests {
		if r.Op != "helpful" || r.Review == 0 {
			continue
		}
		v := votes[r.Review]
		if v == nil {
			v = &[4]any{int32(r.Review), nil, int32(0), int32(0)}
			if h, ok := before[r.Review]; ok {
				v[1] = int32(h)
			}
			votes[r.Review] = v
		}
		if r.Status == 204 {
			v[2] = v[2].(int32) + 1
		} else {
			v[3] = v[3].(int32) + 1
		}
	}
	rows = rows[:0]
	for _, v := range votes {
		rows = append(rows, v[:])
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"fault_votes"}, []string{"review_id", "before", "acked", "failed"}, pgx.CopyFromRows(rows)); err != nil {
		return w, err
	}
	// A review gone since has lost its acknowledged votes; one missing from
	// the snapshot was posted since, with helpfulness 0 (bench/load's setup
	// posts reviews and then votes on them).
	err = tx.QueryRow(ctx, `
WITH d AS (
    SELECT v.acked, v.failed,
           CASE WHEN r.id IS NULL THEN -v.acked
                ELSE r.helpfulness - coalesce(v.before, 0) - v.acked END AS diff
    FROM fault_votes v LEFT JOIN reviews r ON r.id = v.review_id
)
SELECT coalesce(sum(acked), 0),
       coalesce(sum(greatest(-diff, 0)), 0),
       coalesce(sum(least(greatest(diff, 0), failed)), 0),
       coalesce(sum(greatest(diff - failed, 0)), 0)
FROM d`).Scan(&w.VotesAcked, &w.VotesLost, &w.VotesToldFailure, &w.VotesTwice)
	if err != nil {
		return w, fmt.Errorf("count votes: %w", err)
	}
	return w, nil
}

// Snapshot writes "id,helpfulness" of every review, the "before" of the
// vote count.
func Snapshot(ctx context.Context, conn *pgx.Conn, w io.Writer) error {
	_, err := conn.PgConn().CopyTo(ctx, w, "COPY (SELECT id, helpfulness FROM reviews) TO STDOUT (FORMAT csv)")
	return err
}

// ReadSnapshot reads what Snapshot wrote.
func ReadSnapshot(r io.Reader) (map[int]int, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = 2
	cr.ReuseRecord = true
	m := map[int]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		id, err1 := strconv.Atoi(rec[0])
		h, err2 := strconv.Atoi(rec[1])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		m[id] = h
	}
}

// readFile opens path and parses it with read.
func readFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return read(f)
}
