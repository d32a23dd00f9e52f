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

	// EnsureDatabase creates a missing database (a name that needs
	// quoting) and leaves an existing one alone.
	const db = "ensure-Me"
	for range 2 {
		if err := c.EnsureDatabase(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	mustQuery(t, c.URL(db))

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
	waitWatchdogSleeps(t, c, 2)
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

// waitWatchdogSleeps waits until the watchdog of c (the shell that
// StopWhenProcessExits started) has begun n of its one-second sleeps: each
// follows a check that found the process it watches alive. The watchdog is
// another process, so /proc is polled, within a deadline.
func waitWatchdogSleeps(t *testing.T, c *Cluster, n int) {
	t.Helper()
	script := filepath.Join(c.DataDir, "postmaster.pid") // only the watchdog's command line names it
	watchdog := 0
	sleeps := map[int]bool{}
	for deadline := time.Now().Add(30 * time.Second); len(sleeps) < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("watchdog (pid %d) began %d of %d sleeps within 30 s", watchdog, len(sleeps), n)
		}
		entries, err := os.ReadDir("/proc")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			var pid int
			if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
				continue
			}
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue // gone already
			}
			// "pid (comm) state ppid ...": comm may hold spaces.
			open, closing := strings.IndexByte(string(stat), '('), strings.LastIndexByte(string(stat), ')')
			if open < 0 || closing < open {
				continue
			}
			comm := string(stat[open+1 : closing])
			var state string
			var ppid int
			fmt.Sscan(string(stat[closing+1:]), &state, &ppid)
			switch {
			case watchdog == 0 && comm == "sh":
				if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmdline), script) {
					watchdog = pid
				}
			case watchdog != 0 && ppid == watchdog && comm == "sleep":
				sleeps[pid] = true
			}
		}
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
