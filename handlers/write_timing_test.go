package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/pglocal"
	"github.com/catwalk/reviews/testdb"
)

// writeBenchClients is the concurrency of every write benchmark, on both sides
// of each comparison: that many goroutines (and pool connections) against
// the service, that many pgbench clients against PostgreSQL.
const writeBenchClients = 8

// The fixture of ../bench/pgbench/seed.sql.
const (
	writeBenchFirstProduct = 5000001
	writeBenchProducts     = 1000
)

var writeSeedOnce sync.Once

// writeBenchPool opens a pool of writeBenchClients connections on the seeded database.
func writeBenchPool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	writeSeedOnce.Do(func() {
		sql, err := os.ReadFile("../bench/pgbench/seed.sql")
		if err != nil {
			b.Fatal(err)
		}
		pool := testdb.Pool(b)
		if _, err := pool.Exec(context.Background(), string(sql)); err != nil {
			b.Fatal(err)
		}
	})
	cfg, err := pgxpool.ParseConfig(testdb.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = writeBenchClients
	cfg.MinConns = writeBenchClients
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// seededReviews is the id range of the fixture's reviews.
func seededReviews(b *testing.B, pool *pgxpool.Pool) (lo, hi int64) {
	b.Helper()
	err := pool.QueryRow(context.Background(), `SELECT min(id), max(id) FROM reviews
		WHERE product_id BETWEEN $1 AND $2 AND summary = 'seed'`, writeBenchFirstProduct, writeBenchFirstProduct+writeBenchProducts-1).Scan(&lo, &hi)
	if err != nil || hi-lo != writeBenchProducts-1 {
		b.Fatalf("seeded reviews %d..%d: %v", lo, hi, err)
	}
	return lo, hi
}

// runClients runs op from writeBenchClients goroutines until b.N calls are done.
func runClients(b *testing.B, op func(r *rand.Rand)) {
	b.Helper()
	b.SetParallelism((writeBenchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		for pb.Next() {
			op(r)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkPostReview: POST /reviews through the real router and cache
// eviction, one photo and two characteristics, like post.sql.
func BenchmarkPostReview(b *testing.B) {
	pool := writeBenchPool(b)
	s := mustServer(b, pool)
	bodies := postBodies(b, pool)
	runClients(b, func(r *rand.Rand) {
		if resp := s.post(b, bodies[r.IntN(len(bodies))]); resp.status != 201 {
			b.Errorf("POST: %d %s", resp.status, resp.body)
		}
	})
}

// postBodies is one valid POST body per seeded product, rated like post.sql.
func postBodies(b *testing.B, pool *pgxpool.Pool) []string {
	b.Helper()
	bodies := make([]string, writeBenchProducts)
	for i := range bodies {
		id := int32(writeBenchFirstProduct + i)
		var c1, c2 int32
		if err := pool.QueryRow(context.Background(), "SELECT min(id), max(id) FROM characteristics WHERE product_id = $1", id).Scan(&c1, &c2); err != nil {
			b.Fatal(err)
		}
		bodies[i] = fmt.Sprintf(`{"product_id":%d,"rating":%d,"summary":"Good","body":%q,"recommend":true,"name":"jo",`+
			`"email":"jo@example.com","photos":["https://img.example.com/1.jpg"],"characteristics":{"%d":3,"%d":3}}`,
			id, 1+i%5, validBody, c1, c2)
	}
	return bodies
}

// BenchmarkMarkHelpful: PUT /reviews/:id/helpful on random seeded reviews.
func BenchmarkMarkHelpful(b *testing.B) {
	pool := writeBenchPool(b)
	s := mustServer(b, pool)
	lo, hi := seededReviews(b, pool)
	runClients(b, func(r *rand.Rand) {
		if resp := s.put(b, "/reviews/"+strconv.FormatInt(lo+r.Int64N(hi-lo+1), 10)+"/helpful"); resp.status != 204 {
			b.Errorf("PUT helpful: %d %s", resp.status, resp.body)
		}
	})
}

// BenchmarkPgbenchPost is the reference for BenchmarkPostReview: pgbench
// running post.sql with as many clients.
func BenchmarkPgbenchPost(b *testing.B) { pgbench(b, "post.sql") }

// BenchmarkPgbenchHelpful is the reference for BenchmarkMarkHelpful.
func BenchmarkPgbenchHelpful(b *testing.B) { pgbench(b, "helpful.sql") }

// BenchmarkPgbenchHelpfulStatement runs the service's own helpful statement.
func BenchmarkPgbenchHelpfulStatement(b *testing.B) { pgbench(b, "helpful_statement.sql") }

var pgbenchTPS = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench runs a script of ../bench/pgbench with writeBenchClients clients
// for b.N transactions in all and reports pgbench's own rate as ops/s.
func pgbench(b *testing.B, script string) {
	pool := writeBenchPool(b)
	b.ResetTimer()
	tps := runPgbench(b, pool, script, b.N)
	b.StopTimer()
	b.ReportMetric(tps, "ops/s")
	b.ReportMetric(0, "ns/op") // pgbench's own rate is the measure
}

// runPgbench runs n transactions of script and returns pgbench's tps
// (without connection time).
func runPgbench(b *testing.B, pool *pgxpool.Pool, script string, n int) float64 {
	b.Helper()
	lo, hi := seededReviews(b, pool)
	exe, err := exec.LookPath("pgbench")
	if err != nil {
		bin, err := pglocal.BinDir()
		if err != nil {
			b.Fatal(err)
		}
		exe = filepath.Join(bin, "pgbench")
	}
	path, err := filepath.Abs(filepath.Join("../bench/pgbench", script))
	if err != nil {
		b.Fatal(err)
	}
	perClient := max(1, n/writeBenchClients)
	vars := []string{"-D", "lo=" + strconv.FormatInt(lo, 10), "-D", "hi=" + strconv.FormatInt(hi, 10)}
	if script == "post_bare.sql" {
		// Its lo..hi are products: seed.sql's.
		vars = []string{"-D", "lo=5000001", "-D", "hi=5001000"}
	}
	args := append([]string{"-n", "-M", "prepared",
		"-c", strconv.Itoa(writeBenchClients), "-j", strconv.Itoa(min(writeBenchClients, runtime.GOMAXPROCS(0))),
		"-t", strconv.Itoa(perClient)}, vars...)
	cmd := exec.Command(exe, append(args, "-f", path, testdb.URL(b))...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench's output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	return tps
}

// drive calls op n times from writeBenchClients goroutines and returns
// the rate in calls per second.
func drive(n int, op func(r *rand.Rand)) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range writeBenchClients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			for next.Add(1) <= int64(n) {
				op(r)
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// compareRounds alternates the service and pgbench, rounds times n
// operations each, so both see the same background load, and reports the
// median of the per-round ratios service/pgbench. Run with -benchtime 1x.
func compareRounds(b *testing.B, script string, op func(r *rand.Rand)) {
	const rounds, n = 5, 2000
	pool := writeBenchPool(b)
	var ratios, ours, theirs []float64
	for range b.N {
		for range rounds {
			o := drive(n, op)
			t := runPgbench(b, pool, script, n)
			ours, theirs, ratios = append(ours, o), append(theirs, t), append(ratios, o/t)
		}
	}
	median := func(xs []float64) float64 {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	b.ReportMetric(median(ours), "service-ops/s")
	b.ReportMetric(median(theirs), "pgbench-ops/s")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPostVsPgbench: POST /reviews against post.sql, a plain client's
// transaction with the notification every write used to send.
func BenchmarkPostVsPgbench(b *testing.B) { comparePost(b, "post.sql") }

// BenchmarkPostVsPgbenchBare: POST /reviews against post_bare.sql, the same
// transaction without any notification (target: ratio ≥ 0.5).
func BenchmarkPostVsPgbenchBare(b *testing.B) { comparePost(b, "post_bare.sql") }

// comparePost runs the production write path: an instance whose writes
// are announced (package invalidate), as server.Run wires it.
func comparePost(b *testing.B, script string) {
	pool := writeBenchPool(b)
	s := mustInstanceOn(b, pool, pool.Config().ConnConfig.Copy(), nil)
	bodies := postBodies(b, pool)
	compareRounds(b, script, func(r *rand.Rand) {
		if resp := s.post(b, bodies[r.IntN(len(bodies))]); resp.status != 201 {
			b.Errorf("POST: %d %s", resp.status, resp.body)
		}
	})
}

// BenchmarkHelpfulVsPgbench: PUT helpful against helpful.sql (the vote and
// the notification every write used to send, in one transaction).
func BenchmarkHelpfulVsPgbench(b *testing.B) { compareHelpful(b, "helpful.sql") }

// BenchmarkHelpfulVsPgbenchBare: PUT helpful against helpful_bare.sql, the
// bare UPDATE (target: ratio ≥ 0.6).
func BenchmarkHelpfulVsPgbenchBare(b *testing.B) { compareHelpful(b, "helpful_bare.sql") }

// BenchmarkHelpfulVsPgbenchStatement: against the service's own statement.
func BenchmarkHelpfulVsPgbenchStatement(b *testing.B) { compareHelpful(b, "helpful_statement.sql") }

func compareHelpful(b *testing.B, script string) {
	pool := writeBenchPool(b)
	s := mustInstanceOn(b, pool, pool.Config().ConnConfig.Copy(), nil)
	lo, hi := seededReviews(b, pool)
	compareRounds(b, script, func(r *rand.Rand) {
		if resp := s.put(b, "/reviews/"+strconv.FormatInt(lo+r.Int64N(hi-lo+1), 10)+"/helpful"); resp.status != 204 {
			b.Errorf("PUT helpful: %d %s", resp.status, resp.body)
		}
	})
}

// BenchmarkMixedLatency offers an open-loop load of mixedWrites writes/s
// (half POST, half helpful) and mixedReads reads/s (half GET /reviews
// ?sort=newest, half meta) on the seeded products for mixedFor, each
// request in its own goroutine at its scheduled time, and reports the p50
// and p99 latency of each class after a second of warm-up. Run it once:
// -benchtime 1x.
func BenchmarkMixedLatency(b *testing.B) {
	const (
		mixedWrites = 500
		mixedReads  = 1000
		mixedFor    = 5 * time.Second
		mixedWarmUp = time.Second // connections, prepared statements, cache: not measured
	)
	pool := writeBenchPool(b)
	s := mustServer(b, pool)
	lo, hi := seededReviews(b, pool)
	var chars [writeBenchProducts][2]int32
	rows, err := pool.Query(context.Background(), `SELECT product_id, min(id), max(id) FROM characteristics
		WHERE product_id BETWEEN $1 AND $2 GROUP BY product_id`, writeBenchFirstProduct, writeBenchFirstProduct+writeBenchProducts-1)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var p, c1, c2 int32
		if err := rows.Scan(&p, &c1, &c2); err != nil {
			b.Fatal(err)
		}
		chars[p-writeBenchFirstProduct] = [2]int32{c1, c2}
	}
	rows.Close()

	type sample struct {
		write bool
		d     time.Duration
		ok    bool
	}
	var mu sync.Mutex
	var samples []sample
	var wg sync.WaitGroup
	fire := func(write, record bool, r *rand.Rand) {
		i := r.IntN(writeBenchProducts)
		p := writeBenchFirstProduct + i
		coin := r.IntN(2) == 0
		review := lo + r.Int64N(hi-lo+1)
		wg.Go(func() {
			start := time.Now()
			var resp response
			var want int
			switch {
			case write && coin:
				resp, want = s.post(b, fmt.Sprintf(`{"product_id":%d,"rating":4,"body":%q,"recommend":true,"name":"jo","email":"jo@example.com","characteristics":{"%d":3,"%d":4}}`,
					p, validBody, chars[i][0], chars[i][1])), 201
			case write:
				resp, want = s.put(b, fmt.Sprintf("/reviews/%d/helpful", review)), 204
			case coin:
				resp, want = s.do(b, "GET", fmt.Sprintf("/reviews?product_id=%d&sort=newest", p), "", ""), 200
			default:
				resp, want = s.do(b, "GET", fmt.Sprintf("/reviews/meta?product_id=%d", p), "", ""), 200
			}
			d := time.Since(start)
			if !record {
				return
			}
			mu.Lock()
			samples = append(samples, sample{write, d, resp.status == want})
			mu.Unlock()
		})
	}
	b.ResetTimer()
	for range b.N {
		r := rand.New(rand.NewPCG(1, 2))
		start := time.Now()
		writeEvery, readEvery := time.Second/mixedWrites, time.Second/mixedReads
		nextWrite, nextRead := start, start
		for time.Since(start) < mixedWarmUp+mixedFor {
			now := time.Now()
			record := now.Sub(start) >= mixedWarmUp
			for !nextWrite.After(now) {
				fire(true, record, r)
				nextWrite = nextWrite.Add(writeEvery)
			}
			for !nextRead.After(now) {
				fire(false, record, r)
				nextRead = nextRead.Add(readEvery)
			}
			time.Sleep(200 * time.Microsecond)
		}
		wg.Wait()
	}
	b.StopTimer()
	report := func(write bool, name string) {
		var ds []time.Duration
		failed := 0
		for _, s := range samples {
			if s.write == write {
				ds = append(ds, s.d)
				if !s.ok {
					failed++
				}
			}
		}
		slices.Sort(ds)
		if len(ds) == 0 {
			return
		}
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, name+"-p99-ms")
		b.ReportMetric(float64(failed), name+"-failed")
	}
	report(true, "write")
	report(false, "read")
	b.ReportMetric(0, "ns/op")
}
