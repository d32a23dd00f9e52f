package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/catwalk/reviews/testdb"
)

func TestConnBudget(t *testing.T) {
	f := func(b connBudget, wantErr string) {
		t.Helper()
		err := b.Check()
		if wantErr == "" {
			if err != nil {
				t.Errorf("%+v: %v, want it to fit", b, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%+v: %v, want an error containing %q", b, err, wantErr)
		}
	}
	// docker-compose.yml: three instances, 16 + 4 + 2 each, PostgreSQL's
	// default 100 less 3 reserved.
	f(connBudget{Instances: 3, Writes: 16, Reads: 4, MaxConnections: 100, Reserved: 3}, "")
	// Exactly full fits; one more does not.
	f(connBudget{Instances: 1, Writes: 95, Reads: 0, MaxConnections: 100, Reserved: 3}, "")
	f(connBudget{Instances: 1, Writes: 96, Reads: 0, MaxConnections: 100, Reserved: 3}, "1 instance(s) × 98 connections each")
	// The read pipelines left to default on a 32-core host: 3 × (16 + 32 + 2).
	f(connBudget{Instances: 3, Writes: 16, Reads: 32, MaxConnections: 100, Reserved: 3},
		"3 instance(s) × 50 connections each (16 for writes, 32 read pipelines, 2 for cache coherence) = 150, more than the 97 the database admits (max_connections 100 less 3 reserved); lower DB_MAX_CONNS")
	// PostgreSQL 16's reserved_connections counts against it too.
	f(connBudget{Instances: 3, Writes: 16, Reads: 4, MaxConnections: 70, Reserved: 3 + 2}, "= 66, more than the 65")
}

// TestRunChecksConnBudget: Run reads the real server's limits and refuses
// to start when the instances would not fit, before it serves.
func TestRunChecksConnBudget(t *testing.T) {
	var maxConns, reserved int
	if err := testdb.Pool(t).QueryRow(t.Context(), `SELECT current_setting('max_connections')::int,
		current_setting('superuser_reserved_connections')::int`).Scan(&maxConns, &reserved); err != nil {
		t.Fatal(err)
	}
	per := 16 + 4 + coherenceConns
	fits := (maxConns - reserved) / per
	if fits < 1 {
		t.Fatalf("the test server admits %d connections, fewer than one instance's %d", maxConns-reserved, per)
	}
	pool := testdb.Pool(t)
	if err := checkConnBudget(t.Context(), pool, fits, 16, 4); err != nil {
		t.Errorf("%d instances of %d connections on max_connections %d: %v", fits, per, maxConns, err)
	}
	if err := checkConnBudget(t.Context(), pool, fits+1, 16, 4); err == nil || !strings.Contains(err.Error(), "raise max_connections") {
		t.Errorf("%d instances of %d connections on max_connections %d: %v, want a refusal", fits+1, per, maxConns, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := Run(ctx, Config{DatabaseURL: testdb.URL(t), Addr: "127.0.0.1:0", Instances: fits + 1, DBMaxConns: 16, DBReadPipelines: 4})
	if err == nil || !strings.Contains(err.Error(), "max_connections") {
		t.Errorf("Run with %d instances: %v, want the connection budget's refusal", fits+1, err)
	}
}
