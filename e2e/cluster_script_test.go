package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/testdb"
	"github.com/catwalk/reviews/testnet"
)

// `make cluster` with DATABASE_URL (issue 10 item 6): scripts/cluster.sh
// serves that database through NGINX as it is — migrated, no demo data
// added — and its stop leaves that PostgreSQL running.
func TestClusterScriptDatabaseURL(t *testing.T) {
	nginxBinary(t) // fail early, saying how to install it
	dbURL := testdb.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), apiFixture); err != nil {
		t.Fatalf("fixture: %v", err)
	}

	dir, err := os.MkdirTemp("", "catwalk-e2e-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// NGINX's workers may run as nobody and write temp files under it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	nginxPort := testnet.FreePort(t)
	var apiPorts []string
	for range 3 {
		apiPorts = append(apiPorts, strconv.Itoa(testnet.FreePort(t)))
	}
	script := func(cmd string) *exec.Cmd {
		c := exec.Command(filepath.Join(repoRoot(t), "scripts", "cluster.sh"), cmd)
		c.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "CLUSTER_DIR="+filepath.Join(dir, "cluster"),
			"NGINX_PORT="+strconv.Itoa(nginxPort), "API_PORTS="+strings.Join(apiPorts, " "))
		return c
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			script("stop").Run()
		}
	})
	if out, err := script("start").CombinedOutput(); err != nil {
		t.Fatalf("scripts/cluster.sh start: %v\n%s", err, out)
	}

	base := "http://127.0.0.1:" + strconv.Itoa(nginxPort)
	r := do(t, "GET", base+"/reviews?product_id=4242&sort=newest", "")
	if r.Status != 200 || !strings.Contains(r.Body, `"review_id":9001`) {
		t.Fatalf("GET /reviews through NGINX: %d %s; want the fixture's product", r.Status, r.Body)
	}
	for _, p := range apiPorts {
		if r := do(t, "GET", "http://127.0.0.1:"+p+"/readyz", ""); r.Status != 200 {
			t.Fatalf("instance on :%s: /readyz %d", p, r.Status)
		}
	}
	var reviews int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM reviews").Scan(&reviews); err != nil {
		t.Fatal(err)
	}
	if reviews != 2 {
		t.Fatalf("%d reviews after start, want the fixture's 2: no demo data in a given database", reviews)
	}

	out, err := script("stop").CombinedOutput()
	stopped = true
	if err != nil {
		t.Fatalf("scripts/cluster.sh stop: %v\n%s", err, out)
	}
	for _, p := range append([]string{strconv.Itoa(nginxPort)}, apiPorts...) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatalf("port %s still answers after stop", p)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The given database is not the script's to stop.
	if err := conn.Ping(t.Context()); err != nil {
		t.Fatalf("the database went away with the cluster: %v", err)
	}
}
