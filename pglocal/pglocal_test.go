package pglocal

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartReuseStop(t *testing.T) {
	ctx := t.Context()
	// Not t.TempDir: its parent is private, and as root the server runs as
	// the postgres user, who must reach the directory.
	dir, err := os.MkdirTemp("", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "nested", "pg")
	c, err := Start(ctx, dataDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	if !c.Started {
		t.Fatal("Start on an empty directory did not start a server")
	}
	mustQuery(t, c.URL("postgres"))

	again, err := Start(ctx, dataDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Started || again.Port != c.Port {
		t.Fatalf("second Start: started=%v port=%d, want reuse of port %d", again.Started, again.Port, c.Port)
	}
	if err := again.Stop(); err != nil { // a reused server is left alone
		t.Fatal(err)
	}
	mustQuery(t, c.URL("postgres"))

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid still present after Stop (err %v)", err)
	}
	if _, ok := c.running(); ok {
		t.Fatal("server still answers after Stop")
	}

	// A stopped cluster starts again from its data directory.
	c2, err := Start(ctx, dataDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	mustQuery(t, c2.URL("postgres"))
}

func mustQuery(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func TestBinDir(t *testing.T) {
	dir, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s missing from %s", name, dir)
		}
	}
}

func TestBinDirMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := binDirIn(filepath.Join(t.TempDir(), "*", "bin"))
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("BinDir with no binaries = %v, want an error naming the package to install", err)
	}
}

// TestStopWhenProcessExits: a cluster tied to a process that is killed
// stops by itself.
func TestStopWhenProcessExits(t *testing.T) {
	dir, err := os.MkdirTemp("", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	c, err := Start(t.Context(), filepath.Join(dir, "pg"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })

	owner := exec.Command("sleep", "60")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.StopWhenProcessExits(owner.Process.Pid); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, ok := c.running(); !ok {
		t.Fatal("the watchdog stopped the server while its process was alive")
	}
	owner.Process.Kill()
	owner.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := c.running(); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still running 30 s after its process was killed")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestStartFixedPort: a cluster asked for a port listens there (a loaded
// benchmark database keeps its URL), and settings reach the server.
func TestStartFixedPort(t *testing.T) {
	dir, err := os.MkdirTemp("", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(t.Context(), filepath.Join(dir, "pg"), Options{Port: port, Settings: map[string]string{"shared_buffers": "48MB"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	if c.Port != port || !strings.Contains(c.URL("postgres"), fmt.Sprintf(":%d/", port)) {
		t.Fatalf("cluster on port %d (URL %s), want %d", c.Port, c.URL("postgres"), port)
	}
	conn, err := pgx.Connect(t.Context(), c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var sb string
	if err := conn.QueryRow(t.Context(), "SHOW shared_buffers").Scan(&sb); err != nil || sb != "48MB" {
		t.Fatalf("shared_buffers = %q, %v; want 48MB", sb, err)
	}
	// The port is taken now: a second cluster asked for it fails, saying so.
	other, err := Start(t.Context(), filepath.Join(dir, "other"), Options{Port: port})
	if err == nil {
		other.Stop()
		t.Fatalf("a second cluster started on the taken port %d", port)
	}
}
