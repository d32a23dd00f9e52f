package server

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

// TestReadyzWaitsForWarmPools: /readyz is 503 while the pools cannot all
// open and warm their connections, although the database answers; 200
// once they have; and after every connection is terminated (what a
// database restart does), 503 again until they are all back and warm.
// The role's connection limit decides how many connections the instance
// may open; nothing here depends on timing but the generous deadlines.
func TestReadyzWaitsForWarmPools(t *testing.T) {
	ctx := context.Background()
	admin := testdb.Pool(t)
	role := fmt.Sprintf("catwalk_warm_%d", time.Now().UnixNano())
	ident := pgx.Identifier{role}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE ROLE "+ident+" LOGIN CONNECTION LIMIT 2"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+ident) }) //nolint:errcheck // best effort
	dbURL := testdb.NewDatabase(t)
	owner, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Exec(ctx, "GRANT ALL ON ALL TABLES IN SCHEMA public TO "+ident+"; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "+ident); err != nil {
		t.Fatal(err)
	}
	limit := func(n int) {
		t.Helper()
		if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER ROLE %s CONNECTION LIMIT %d", ident, n)); err != nil {
			t.Fatal(err)
		}
	}
	backends := func() int {
		t.Helper()
		var n int
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)

	// Two write connections, two read connections and the listener's:
	// five, of which the role may open two. The server listens anyway
	// after WarmWait, not warm.
	base, _, _, _, logs := startServer(t, Config{DatabaseURL: u.String(), DBMaxConns: 2, DBReadPipelines: 2, WarmWait: 100 * time.Millisecond})
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, _, body := get(t, base+"/readyz")
		if status == 200 {
			t.Fatalf("/readyz 200 with at most 2 of 5 connections open\n%s", logs.String())
		}
		if body == `{"error":"warming up"}` {
			break // the database answers, the pools are not warm
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said warming up: %d %s", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "listening while not warm yet") {
		t.Fatalf("serving, neither warm nor after WarmWait:\n%s", logs.String())
	}
	limit(-1)
	waitReady(t, base)
	if n := backends(); n < 4 {
		t.Fatalf("ready with %d connections open, want both pools' 4 at least", n)
	}

	// Every connection terminated, and only two may come back: 503 until
	// all can.
	limit(2)
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for backends() != 2 { // gone, then the two allowed back
		if time.Now().After(deadline) {
			t.Fatalf("%d backends of the role, want the 2 it may open", backends())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 10 {
		if status, _, body := get(t, base+"/readyz"); status != 503 {
			t.Fatalf("/readyz %d %s after every connection was lost, with 2 of 5 back", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	limit(-1)
	waitReady(t, base)
	if n := backends(); n < 4 {
		t.Fatalf("ready again with %d connections open, want both pools' 4 at least", n)
	}
	// And it serves.
	if status, _, body := get(t, base+"/reviews/meta?product_id=1"); status != 200 {
		t.Fatalf("meta after recovery: %d %s", status, body)
	}
}

// TestServesOnceWarm: the server starts serving only once its pools are
// warm (NGINX sends traffic to whatever accepts), so its first answer to
// /readyz is already 200.
func TestServesOnceWarm(t *testing.T) {
	base, _, _, _, logs := startServer(t, Config{DBMaxConns: 3, DBReadPipelines: 2, WarmWait: time.Minute})
	if status, _, body := get(t, base+"/readyz"); status != 200 {
		t.Fatalf("/readyz %d %s on the first request served\n%s", status, body, logs.String())
	}
	l := logs.String()
	if warm, serving := strings.Index(l, `"msg":"warm"`), strings.Index(l, `"msg":"serving"`); warm < 0 || serving < warm {
		t.Fatalf("not warm before serving:\n%s", l)
	}
}
