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
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/pglocal"
	"github.com/catwalk/reviews/testdb"
)

// benchClients is the concurrency of every write benchmark, on both sides
// of each comparison: that many goroutines (and pool connections) against
// the service, that many pgbench clients against PostgreSQL.
const benchClients = 8

// The fixture of ../bench/pgbench/seed.sql.
const (
	benchFirstProduct = 5000001
	benchProducts     = 1000
)

var seedOnce sync.Once

// benchPool opens a pool of benchClients connections on the seeded database.
func benchPool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	seedOnce.Do(func() {
		sql, err := os.ReadFile("../bench/pgbench/seed.sql")
		if err != nil {
			b.Fatal(err)
		}
		pool := testdb.Pool(b)
		if _, err := pool.Exec(context.Background(), string(sql)); err != nil {
			b.Fatal(err)
		}
	})
	cfg, err := pgxpool.ParseConfig(testdb.URL())
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = benchClients
	cfg.MinConns = benchClients
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
		WHERE product_id BETWEEN $1 AND $2 AND summary = 'seed'`, benchFirstProduct, benchFirstProduct+benchProducts-1).Scan(&lo, &hi)
	if err != nil || hi-lo != benchProducts-1 {
		b.Fatalf("seeded reviews %d..%d: %v", lo, hi, err)
	}
	return lo, hi
}

// runClients runs op from benchClients goroutines until b.N calls are done.
func runClients(b *testing.B, op func(r *rand.Rand)) {
	b.Helper()
	b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
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
	pool := benchPool(b)
	s := mustServer(b, pool)
	bodies := make([]string, benchProducts)
	for i := range bodies {
		id := int32(benchFirstProduct + i)
		var c1, c2 int32
		if err := pool.QueryRow(context.Background(), "SELECT min(id), max(id) FROM characteristics WHERE product_id = $1", id).Scan(&c1, &c2); err != nil {
			b.Fatal(err)
		}
		bodies[i] = fmt.Sprintf(`{"product_id":%d,"rating":%d,"summary":"Good","body":%q,"recommend":true,"name":"jo",`+
			`"email":"jo@example.com","photos":["https://img.example.com/1.jpg"],"characteristics":{"%d":3,"%d":3}}`,
			id, 1+i%5, validBody, c1, c2)
	}
	runClients(b, func(r *rand.Rand) {
		if resp := s.post(b, bodies[r.IntN(len(bodies))]); resp.status != 201 {
			b.Errorf("POST: %d %s", resp.status, resp.body)
		}
	})
}

// BenchmarkMarkHelpful: PUT /reviews/:id/helpful on random seeded reviews.
func BenchmarkMarkHelpful(b *testing.B) {
	pool := benchPool(b)
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

// pgbench runs a script of ../bench/pgbench with benchClients clients for
// b.N transactions in all and reports pgbench's own rate as ops/s.
func pgbench(b *testing.B, script string) {
	pool := benchPool(b)
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
	perClient := max(1, b.N/benchClients)
	cmd := exec.Command(exe, "-n", "-M", "prepared",
		"-c", strconv.Itoa(benchClients), "-j", strconv.Itoa(min(benchClients, runtime.GOMAXPROCS(0))),
		"-t", strconv.Itoa(perClient), "-D", "lo="+strconv.FormatInt(lo, 10), "-D", "hi="+strconv.FormatInt(hi, 10),
		"-f", path, testdb.URL())
	b.ResetTimer()
	out, err := cmd.CombinedOutput()
	b.StopTimer()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench's output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	b.ReportMetric(tps, "ops/s")
	b.ReportMetric(0, "ns/op") // pgbench's own rate is the measure
}
