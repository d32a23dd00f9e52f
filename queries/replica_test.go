package queries

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/testdb"
)

// openPool opens a pool on url; tracer, when not nil, sees its queries.
func openPool(t *testing.T, url string, tracer pgx.QueryTracer) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// probeCounter counts the replica probes that finished reading the
// standby's replay position on a pool, so a test can wait for probes
// rather than sleep.
type probeCounter struct {
	mu    sync.Mutex
	n     int
	ended chan struct{} // closed (and forgotten) by the next probe's end
}

type probeKey struct{}

func (p *probeCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, probeKey{}, data.SQL == replicaReplayPosition)
}

func (p *probeCounter) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if probe, _ := ctx.Value(probeKey{}).(bool); !probe {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.ended != nil {
		close(p.ended)
		p.ended = nil
	}
}

// count is the number of probes that have read the replay position.
func (p *probeCounter) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// waitFor blocks until n probes have read the replay position, failing
// after 15 s.
func (p *probeCounter) waitFor(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		p.mu.Lock()
		if p.n >= n {
			p.mu.Unlock()
			return
		}
		if p.ended == nil {
			p.ended = make(chan struct{})
		}
		ended := p.ended
		p.mu.Unlock()
		select {
		case <-ended:
		case <-timeout:
			t.Fatalf("only %d of %d replica probes within 15s", p.count(), n)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func helpfulness(t *testing.T, pool *pgxpool.Pool, id int) int {
	t.Helper()
	var h int
	if err := pool.QueryRow(context.Background(), `SELECT helpfulness FROM reviews WHERE id = $1`, id).Scan(&h); err != nil {
		t.Fatalf("read review %d: %v", id, err)
	}
	return h
}

func inRecovery(t *testing.T, pool *pgxpool.Pool) bool {
	t.Helper()
	var v bool
	if err := pool.QueryRow(context.Background(), `SELECT pg_is_in_recovery()`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReplicaRouting runs a real streaming standby (pg_basebackup) and
// checks that reads go to it, that a product written since the standby's
// last confirmed replay position is read from the primary (so neither a
// cache fill nor the writer's own next read can see the old row), that
// other products keep reading from the standby, and that a standby lagging
// beyond MaxLag serves nothing.
func TestReplicaRouting(t *testing.T) {
	ctx := context.Background()
	primary := testdb.Pool(t)
	// A streaming standby of the package's cluster; each store probes it on
	// a pool of its own, so the probes of s can be counted.
	replicaURL := testdb.ReplicaURL(t)
	probes := &probeCounter{}
	replica := openPool(t, replicaURL, probes)
	strictReplica := openPool(t, replicaURL, nil)
	if _, err := primary.Exec(ctx, `
		INSERT INTO reviews (id, product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
		VALUES (7001, 7, 5, now(), 's', 'b', true, 'n', 'n@example.com'),
		       (8001, 8, 4, now(), 's', 'b', true, 'n', 'n@example.com')
		ON CONFLICT (id) DO UPDATE SET helpfulness = 0 -- a rerun (-count) starts over`); err != nil {
		t.Fatal(err)
	}

	s := Open(primary, Options{Replica: ReplicaOptions{Pool: replica, MaxLag: time.Minute, ProbeInterval: 20 * time.Millisecond}})
	defer s.Close()
	strict := Open(primary, Options{Replica: ReplicaOptions{Pool: strictReplica, MaxLag: 300 * time.Millisecond, ProbeInterval: 20 * time.Millisecond}})
	defer strict.Close()
	c, err := cache.New(1<<20, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// What package invalidate does for every change: mark written, then
	// evict (that package imports this one, so it cannot be used here).
	written := func(p uint32) { s.MarkWritten(p); c.InvalidateProduct(p) }
	lost := func() { s.MarkAllWritten(); c.Clear() }

	// Reads are served from the replica once a probe has seen it current.
	eventually(t, "reads of product 8 go to the replica", func() bool { return s.reader(8).pool == replica })
	eventually(t, "strict store reads from the replica", func() bool { return strict.reader(8).pool == strictReplica })
	if !inRecovery(t, s.reader(8).pool) || inRecovery(t, s.WritePool()) {
		t.Fatal("reader(8) is not the standby, or WritePool() is not the primary")
	}
	eventually(t, "review 7001 replicated", func() bool { return helpfulness(t, replica, 7001) == 0 })

	// Hold the standby back, then write: the standby provably lacks the write.
	if _, err := replica.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replay paused", func() bool {
		var state string
		replica.QueryRow(ctx, `SELECT pg_get_wal_replay_pause_state()`).Scan(&state)
		return state == "paused"
	})
	if _, err := primary.Exec(ctx, `UPDATE reviews SET helpfulness = 42 WHERE id = 7001`); err != nil {
		t.Fatal(err)
	}
	written(7) // what the write path does after commit
	// Let s probe the paused standby after the write: of the next three
	// probes, the second starts after the write, and the third reads the
	// replay position only after the second has updated the routing.
	probes.waitFor(t, probes.count()+3)

	if got := helpfulness(t, replica, 7001); got != 0 {
		t.Fatalf("paused standby already shows helpfulness %d", got)
	}
	if s.reader(7).pool != primary {
		t.Error("product 7 was written after the standby's replay position, yet its reads go to the standby")
	}
	// The cache fill and the writer's next read see the write.
	body, err := c.Fetch(cache.Key{Kind: cache.KindList, Product: 7, Page: 1, Count: 5}, func() ([]byte, error) {
		return []byte(strconv.Itoa(helpfulness(t, s.reader(7).pool, 7001))), nil
	})
	if err != nil || string(body) != "42" {
		t.Errorf("cache filled with helpfulness %q (%v), want 42 from the primary", body, err)
	}
	// Other products still read from the standby within MaxLag…
	if s.reader(8).pool != replica {
		t.Error("an unrelated product stopped reading from the standby")
	}
	// …and nothing does once the standby is known to lag beyond MaxLag.
	eventually(t, "a standby lagging past MaxLag serves no reads", func() bool { return strict.reader(8).pool == primary })

	// A cleared cache (invalidations possibly missed) sends every product
	// to the primary until the standby is confirmed current again.
	lost()
	if s.reader(8).pool != primary {
		t.Error("after Clear, product 8 still reads from a standby not confirmed current")
	}

	if _, err := replica.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "product 7 back on the standby after it replays the write", func() bool { return s.reader(7).pool == replica })
	if got := helpfulness(t, s.reader(7).pool, 7001); got != 42 {
		t.Errorf("standby chosen for product 7 shows helpfulness %d, want 42", got)
	}
	eventually(t, "strict store back on the standby", func() bool { return strict.reader(8).pool == strictReplica })
	st, ok := s.ReplicaStats()
	if !ok || st.ToReplica == 0 || st.ToPrimary == 0 {
		t.Errorf("ReplicaStats = %+v, %v; want reads counted on both pools", st, ok)
	}
}

// TestReaderWithoutReplica: with no replica every read is the primary's.
func TestReaderWithoutReplica(t *testing.T) {
	pool := testdb.Pool(t)
	s := New(pool)
	s.MarkWritten(1)
	s.MarkAllWritten()
	s.Close()
	if s.reader(1).pool != pool || s.ReplicaPool() != nil {
		t.Error("a store without a replica reads elsewhere than its pool")
	}
	if _, ok := s.ReplicaStats(); ok {
		t.Error("ReplicaStats reported without a replica")
	}
}

func TestParseLSNSuccess(t *testing.T) {
	f := func(in string, want uint64) {
		t.Helper()
		if got, err := parseLSN(in); err != nil || got != want {
			t.Errorf("parseLSN(%q) = %x, %v; want %x", in, got, err, want)
		}
	}
	f("0/0", 0)
	f("0/16B3748", 0x16B3748)
	f("1/0", 1<<32)
	f("FFFFFFFF/FFFFFFFF", ^uint64(0))
}

func TestParseLSNFailure(t *testing.T) {
	f := func(in string) {
		t.Helper()
		if got, err := parseLSN(in); err == nil {
			t.Errorf("parseLSN(%q) = %x, want an error", in, got)
		}
	}
	f("")
	f("16B3748")
	f("0/")
	f("/1")
	f("G/1")
	f("100000000/0")
}
