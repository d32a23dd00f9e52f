package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/testdb"
	"github.com/catwalk/reviews/testnet"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// buildBinary compiles catwalk once for the end-to-end tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "catwalk")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestServeRefusesSchemaBehind(t *testing.T) {
	url := testdb.NewEmptyDatabase(t)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"serve", "-database-url", url, "-port", strconv.Itoa(testnet.FreePort(t))}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "catwalk migrate") {
		t.Fatalf("serve on an unmigrated database: exit %d, stderr %q; want 1 and advice to run catwalk migrate", code, stderr.String())
	}
}

func TestMigrateCommandTwice(t *testing.T) {
	url := testdb.NewEmptyDatabase(t)
	for i, want := range []string{"applied 001_init.sql", "schema is current"} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{"migrate", "-database-url", url}, &stdout, &stderr); code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("run %d printed %q, want %q", i, stdout.String(), want)
		}
	}
}

// TestMigrateDemoOnce: `migrate -demo-products` loads a demo dataset into
// a database without reviews and never into one that has them, whatever ran
// before: the data is the marker (compose's setup job relies on it).
func TestMigrateDemoOnce(t *testing.T) {
	url := testdb.NewEmptyDatabase(t)
	count := func() (n int) {
		t.Helper()
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM reviews").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	dir := t.TempDir()
	migrateDemo := func(want string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := []string{"migrate", "-database-url", url, "-demo-products", "20", "-demo-dir", filepath.Join(dir, "demo")}
		if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("migrate -demo-products: exit %d: %s", code, stderr.String())
		}
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("migrate -demo-products printed %q, want %q", stdout.String(), want)
		}
	}
	migrateDemo("loading the demo dataset")
	loaded := count()
	if loaded == 0 {
		t.Fatal("no review loaded into an empty database")
	}
	migrateDemo("no demo dataset loaded")
	if n := count(); n != loaded {
		t.Fatalf("a second run changed the reviews from %d to %d", loaded, n)
	}
}

// TestDevStartsAndStopsCleanly runs `catwalk dev` as a newcomer would: no
// DATABASE_URL, an empty data directory. It must answer /healthz, and after
// SIGINT no PostgreSQL process of its cluster may remain.
func TestDevStartsAndStopsCleanly(t *testing.T) {
	bin := buildBinary(t)
	dir, err := os.MkdirTemp("", "catwalk-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	// The port is picked free, but until catwalk dev binds it an outgoing
	// connection of another test may take it as its local port: then the
	// process exits at once ("address already in use") and is started
	// again on another port. A start that fails otherwise fails the test.
	var (
		cmd    *exec.Cmd
		out    bytes.Buffer
		base   string
		exited chan error
	)
	deadline := time.Now().Add(90 * time.Second)
	for attempt := 1; ; attempt++ {
		port := testnet.FreePort(t)
		out.Reset()
		cmd = exec.Command(bin, "dev", "-data-dir", filepath.Join(dir, "data"), "-demo-products", "300")
		cmd.Env = append(os.Environ(), "DATABASE_URL=", "PORT="+strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited = make(chan error, 1)
		go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(cmd, exited)
		base = "http://127.0.0.1:" + strconv.Itoa(port)
		up, err := waitHealthy(base, exited, deadline)
		if up {
			break
		}
		if attempt < 3 && strings.Contains(out.String(), "address already in use") {
			continue
		}
		cmd.Process.Kill()
		t.Fatalf("catwalk dev did not answer /healthz (%v); output:\n%s", err, out.String())
	}
	defer cmd.Process.Kill()

	// Ready once its pools are warm (every connection open, statements
	// prepared): shortly after it answers at all.
	for {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("/readyz: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d; output:\n%s", resp.StatusCode, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The demo dataset is loaded: some of the first products have reviews
	// and characteristics.
	var reviewed, rated int
	for id := 1; id <= 20; id++ {
		var list struct {
			Results []struct {
				ReviewID int    `json:"review_id"`
				Body     string `json:"body"`
			} `json:"results"`
		}
		getJSON(t, base+"/reviews?product_id="+strconv.Itoa(id), &list)
		if len(list.Results) > 0 && list.Results[0].ReviewID > 0 && len(list.Results[0].Body) >= 50 {
			reviewed++
		}
		var meta struct {
			Characteristics map[string]any `json:"characteristics"`
		}
		getJSON(t, base+"/reviews/meta?product_id="+strconv.Itoa(id), &meta)
		if len(meta.Characteristics) > 0 {
			rated++
		}
	}
	if reviewed == 0 || rated < 20 {
		t.Fatalf("demo data: %d of products 1..20 have reviews, %d have characteristics; want some and all 20", reviewed, rated)
	}

	pidFile := filepath.Join(dir, "data", "pg", "postmaster.pid")
	pidText, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no postmaster.pid while dev runs: %v", err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(pidText), "\n", 2)[0])

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("catwalk dev exited with %v; output:\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("catwalk dev did not exit after SIGINT; output:\n%s", out.String())
	}
	if alive(pid) {
		t.Fatalf("postgres (pid %d) still running after catwalk dev stopped", pid)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid left behind (err %v)", err)
	}
}

// alive reports whether pid is a live process (a zombie awaiting its reaper
// is not: it has exited).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no procfs: trust kill
	}
	// Format: pid (comm) state …; comm may hold spaces, so look after ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// waitHealthy polls base's /healthz until it answers 200 (true), the
// process exits (its Wait error on exited) or the deadline passes.
func waitHealthy(base string, exited <-chan error, deadline time.Time) (bool, error) {
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return false, fmt.Errorf("/healthz = %d", resp.StatusCode)
			}
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, errors.New("timed out")
		}
		select {
		case err := <-exited:
			return false, fmt.Errorf("exited: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
