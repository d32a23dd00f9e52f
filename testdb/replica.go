package testdb

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/catwalk/reviews/pglocal"
)

// ReplicaURL starts a streaming standby of the package's cluster
// (pg_basebackup, see pglocal.StartReplica) and returns the URL of the
// package's database on it. The standby stops when tb ends. It needs the
// harness's own cluster, so it fails under TEST_DATABASE_URL.
func ReplicaURL(tb testing.TB) string {
	tb.Helper()
	if Cluster(tb) == nil {
		tb.Fatal("testdb: a replica is made from the harness's own cluster: unset TEST_DATABASE_URL")
	}
	dir, err := os.MkdirTemp("", "catwalk-replica-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	// The standby runs as the cluster's owner, who must reach its directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := pglocal.StartReplica(ctx, cluster, filepath.Join(dir, "data"), pglocal.Options{})
	if err != nil {
		tb.Fatalf("testdb: replica: %v", err)
	}
	tb.Cleanup(func() {
		if err := rep.Stop(); err != nil {
			tb.Errorf("testdb: stop replica: %v", err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(rep.Port))
	return u.String()
}
