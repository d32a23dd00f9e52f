// Command count prints the figures of one fault drill (scripts/faults/drills.sh)
// from bench/load's -record file, the drill's events and the database:
// requests failed by operation and status, the slowest answers, how long
// after the fault ended requests still failed, and the durability count of
// every write the run made.
//
//	count snapshot -database-url URL -out before.csv     # before the drill
//	count -database-url URL -record rec.jsonl -before before.csv -events events.txt -drill NAME
//
// The durability count, for POST /reviews by Idempotency-Key: acknowledged
// (201) and stored, acknowledged and missing, stored but told failure,
// stored twice; for PUT …/helpful by review: expected helpfulness = before
// + 204s, and the shortfall (lost) or excess (from failed requests that did
// commit, up to their number, then counted twice).
//
// The last line, "result drill=… key=value …", is for scripts. Exit
// status: 0 figures printed, 1 an error, 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/envflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	snapshot := len(args) > 0 && args[0] == "snapshot"
	if snapshot {
		args = args[1:]
	}
	fs := flag.NewFlagSet("count", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = envflag.Usage(fs, `usage: count snapshot -database-url URL -out FILE
       count -database-url URL -record FILE [-before FILE] [-events FILE] [-drill NAME]

Prints one fault drill's figures: failed requests, recovery, and what every
write bench/load -record acknowledged (or not) became in the database.`)
	dbURL := fs.String("database-url", "", "the drilled database")
	out := fs.String("out", "", "snapshot: file for id,helpfulness of every review")
	recordPath := fs.String("record", "", "bench/load's -record file")
	beforePath := fs.String("before", "", "the snapshot taken before the drill (without it, votes are not counted)")
	eventsPath := fs.String("events", "", `the drill's events: lines "<unix microseconds> fault|back"`)
	drill := fs.String("drill", "drill", "name of the drill, for the figures")
	if err := envflag.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(msg string) int {
		fmt.Fprintln(stderr, "count:", msg)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Sprintf("unexpected arguments: %v", fs.Args()))
	case *dbURL == "":
		return usage("-database-url (or DATABASE_URL) is required")
	case snapshot && *out == "":
		return usage("snapshot needs -out")
	case !snapshot && *recordPath == "":
		return usage("-record is required")
	case strings.ContainsAny(*drill, " \t\n="):
		return usage("-drill must be one word")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, *dbURL)
	if err != nil {
		fmt.Fprintln(stderr, "count:", err)
		return 1
	}
	defer conn.Close(context.Background())
	if snapshot {
		err = writeSnapshot(ctx, conn, *out)
	} else {
		err = count(ctx, conn, stdout, *drill, *recordPath, *beforePath, *eventsPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, "count:", err)
		return 1
	}
	return 0
}

func writeSnapshot(ctx context.Context, conn *pgx.Conn, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Snapshot(ctx, conn, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func count(ctx context.Context, conn *pgx.Conn, w io.Writer, drill, recordPath, beforePath, eventsPath string) error {
	run, err := readFile(recordPath, ReadRun)
	if err != nil {
		return err
	}
	ev := Events{}
	if eventsPath != "" {
		if ev, err = readFile(eventsPath, ReadEvents); err != nil {
			return err
		}
	}
	var before map[int]int
	if beforePath != "" {
		if before, err = readFile(beforePath, ReadSnapshot); err != nil {
			return err
		}
	}
	wr, err := Count(ctx, conn, run, before)
	if err != nil {
		return err
	}
	Print(w, drill, Summarize(run, ev), wr)
	return nil
}

// Print writes the figures, for people, then the result line.
func Print(w io.Writer, drill string, tr Traffic, wr Writes) {
	pct := 0.0
	if tr.Requests > 0 {
		pct = 100 * float64(tr.Failed) / float64(tr.Requests)
	}
	var byOp []string
	var byStatus []string
	for _, op := range slices.Sorted(maps.Keys(tr.ByStatus)) {
		var parts []string
		for _, s := range slices.Sorted(maps.Keys(tr.ByStatus[op])) {
			parts = append(parts, fmt.Sprintf("%s=%d", s, tr.ByStatus[op][s]))
			byStatus = append(byStatus, fmt.Sprintf("%s:%s:%d", op, s, tr.ByStatus[op][s]))
		}
		byOp = append(byOp, op+" "+strings.Join(parts, " "))
	}
	failedBy := "none"
	if len(byOp) > 0 {
		failedBy = strings.Join(byOp, "; ")
	}
	fmt.Fprintf(w, "%s: %d requests, %d failed (%.3f%%), %d of them reads: %s\n", drill, tr.Requests, tr.Failed, pct, tr.FailedReads, failedBy)
	if tr.FailedBefore > 0 {
		fmt.Fprintf(w, "%s: %d of the failures came before the fault\n", drill, tr.FailedBefore)
	}
	fmt.Fprintf(w, "%s: service time p99 %.1fms, max %.1fms; %d requests over 1s\n", drill, tr.P99Ms, tr.MaxMs, tr.Over1s)
	if math.IsNaN(tr.LastFail) {
		fmt.Fprintf(w, "%s: no request failed after the fault; recovery 0s\n", drill)
	} else {
		fmt.Fprintf(w, "%s: failures from %+.2fs to %+.2fs of the fault; the last one %.2fs after it ended\n", drill, tr.FirstFail, tr.LastFail, tr.RecoveryS)
	}
	fmt.Fprintf(w, "%s: POST %d acknowledged: %d stored, %d missing%s; %d stored but told failure; %d stored twice\n", drill,
		wr.PostAcked, wr.PostStored, wr.PostMissing, otherID(wr.PostOtherID), wr.PostToldFailure, wr.PostTwice)
	if wr.VotesCounted {
		fmt.Fprintf(w, "%s: helpful %d acknowledged: %d lost; %d counted from failed requests; %d counted twice\n", drill,
			wr.VotesAcked, wr.VotesLost, wr.VotesToldFailure, wr.VotesTwice)
	} else {
		fmt.Fprintf(w, "%s: helpful not counted (no -before snapshot)\n", drill)
	}
	status := "none"
	if len(byStatus) > 0 {
		status = strings.Join(byStatus, ",")
	}
	votes := func(n int) string {
		if !wr.VotesCounted {
			return "na"
		}
		return fmt.Sprint(n)
	}
	fmt.Fprintf(w, "result drill=%s requests=%d failed=%d failed_pct=%.3f failed_reads=%d failed_by=%s p99_ms=%.1f max_ms=%.1f over_1s=%d recovery_s=%.2f"+
		" post_acked=%d post_stored=%d post_missing=%d post_told_failure=%d post_twice=%d post_other_id=%d"+
		" votes_acked=%s votes_lost=%s votes_told_failure=%s votes_twice=%s\n",
		drill, tr.Requests, tr.Failed, pct, tr.FailedReads, status, tr.P99Ms, tr.MaxMs, tr.Over1s, tr.RecoveryS,
		wr.PostAcked, wr.PostStored, wr.PostMissing, wr.PostToldFailure, wr.PostTwice, wr.PostOtherID,
		votes(wr.VotesAcked), votes(wr.VotesLost), votes(wr.VotesToldFailure), votes(wr.VotesTwice))
}

func otherID(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d under another id than the 201 gave)", n)
}
