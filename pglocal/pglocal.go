// Package pglocal starts and stops a throwaway or persistent PostgreSQL
// cluster from the machine's own server binaries, for tests and `catwalk dev`.
package pglocal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options tune a cluster.
type Options struct {
	// Durable keeps fsync on; tests leave it off for speed.
	Durable bool
	// Settings are extra `-c name=value` server settings.
	Settings map[string]string
	// Log is the server's log file; empty means DataDir + ".log" beside it
	// (initdb wants an empty data directory).
	Log string
	// Port is the loopback port to listen on; 0 picks a free one. A fixed
	// port lets a long-lived cluster (a loaded benchmark database) keep its
	// URL across restarts.
	Port int
}

// Cluster is a running PostgreSQL server on a loopback port.
type Cluster struct {
	DataDir string
	Port    int
	// Started is false when Start found a server already running in DataDir
	// and reused it; Stop then leaves it alone.
	Started bool

	bin  string
	cred *syscall.Credential
	log  string
}

// URL is a connection string for database db on the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// BinDir finds the directory holding initdb, pg_ctl and postgres: PATH first,
// then /usr/lib/postgresql/<newest>/bin.
func BinDir() (string, error) { return binDirIn("/usr/lib/postgresql/*/bin") }

func binDirIn(pattern string) (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob(pattern)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or under /usr/lib/postgresql/*/bin: install them, e.g. `apt-get install postgresql` (Debian) or `brew install postgresql` (macOS)")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start initialises dataDir when empty and starts a server on opt.Port, or a
// free loopback port. If a server is already running from dataDir it is
// reused, on whatever port it listens.
func Start(ctx context.Context, dataDir string, opt Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dataDir, err = filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{DataDir: dataDir, bin: bin, log: opt.Log}
	if c.log == "" {
		c.log = dataDir + ".log"
	}
	if err := c.prepareOwner(); err != nil {
		return nil, err
	}
	if port, ok := c.running(); ok {
		c.Port = port
		return c, nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.startOnFreePort(ctx, opt); err != nil {
		return nil, err
	}
	return c, nil
}

// startOnFreePort starts the server on a free loopback port. The port is
// picked, released, then claimed by the server: retry when another process
// takes it in between.
func (c *Cluster) startOnFreePort(ctx context.Context, opt Options) error {
	if opt.Port != 0 {
		c.Port = opt.Port
		if err := c.start(ctx, opt); err != nil {
			return err
		}
		c.Started = true
		return nil
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		c.Port = port
		err = c.start(ctx, opt)
		if err == nil {
			c.Started = true
			return nil
		}
		if attempt == 4 || ctx.Err() != nil {
			return err
		}
	}
}

// prepareOwner decides who runs the server: the current user, or `postgres`
// when we are root (PostgreSQL refuses to run as root).
func (c *Cluster) prepareOwner() error {
	// Parents we create must stay searchable by the server's user.
	if err := os.MkdirAll(filepath.Dir(c.DataDir), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	if f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		f.Close()
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return errors.New("running as root, and PostgreSQL refuses to run as root: create a `postgres` system user (the postgresql package does) or run as another user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if err := os.Chown(c.DataDir, uid, gid); err != nil {
		return err
	}
	if err := os.Chmod(c.DataDir, 0o700); err != nil {
		return err
	}
	os.Chown(c.log, uid, gid) //nolint:errcheck // best effort: pg_ctl reports a log it cannot open
	// Every ancestor must be traversable by the postgres user.
	for d := filepath.Dir(c.DataDir); d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the postgres user cannot reach %s: directory %s is not world-searchable (chmod o+x %s, or put the data directory elsewhere)", c.DataDir, d, d)
		}
	}
	return nil
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.Dir = c.DataDir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *Cluster) initdb(ctx context.Context) error {
	cmd := c.command(ctx, "initdb", "-D", c.DataDir, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb %s: %v\n%s", c.DataDir, err, out)
	}
	return nil
}

func (c *Cluster) start(ctx context.Context, opt Options) error {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"port":                    strconv.Itoa(c.Port),
		"unix_socket_directories": "",
		"max_connections":         "300",
		"timezone":                "UTC",
	}
	if !opt.Durable {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range opt.Settings {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var o strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&o, "-c %s='%s' ", k, settings[k])
	}
	cmd := c.command(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.DataDir, "-l", c.log, "-o", o.String())
	// pg_ctl's server must not die with our process group on Ctrl-C: we stop it ourselves.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	out, err := cmd.CombinedOutput()
	if err != nil {
		logTail, _ := os.ReadFile(c.log)
		if len(logTail) > 2000 {
			logTail = logTail[len(logTail)-2000:]
		}
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, logTail)
	}
	return nil
}

// running reports the port of a live server already using DataDir.
func (c *Cluster) running() (int, bool) {
	f, err := os.Open(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if len(lines) < 4 {
		return 0, false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, _ := strconv.Atoi(strings.TrimSpace(lines[3]))
	if pid <= 0 || port <= 0 || syscall.Kill(pid, 0) != nil {
		return 0, false
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return 0, false
	}
	conn.Close()
	return port, true
}

// Stop shuts the server down (fast mode: open sessions are disconnected) and
// waits for it to exit. A reused server is left running.
func (c *Cluster) Stop() error {
	if !c.Started {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.command(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", c.DataDir).CombinedOutput()
	if err != nil && !bytes.Contains(out, []byte("not running")) && !bytes.Contains(out, []byte("does not exist")) {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	c.Started = false
	return nil
}

// Command runs one of the cluster's binaries (pg_basebackup, psql, …) as the
// cluster's owner.
func (c *Cluster) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return c.command(ctx, name, args...)
}

// Owner returns the credential the server runs under, nil for the current user.
func (c *Cluster) Owner() *syscall.Credential { return c.cred }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StopWhenProcessExits starts a small watchdog that stops the server (fast,
// then immediate) as soon as process pid is gone, however it ended: a test
// binary killed by `go test -timeout` or SIGKILL runs no cleanup, and its
// throwaway cluster must not live on. The watchdog runs as the server's
// owner and exits with the server.
func (c *Cluster) StopWhenProcessExits(pid int) error {
	pgCtl := filepath.Join(c.bin, "pg_ctl")
	script := fmt.Sprintf(`while [ -d /proc/%d ] && [ -f %q ]; do sleep 1; done
[ -f %q ] && { %q stop -D %q -m fast -t 20 || %q stop -D %q -m immediate; }
exit 0`, pid, filepath.Join(c.DataDir, "postmaster.pid"), filepath.Join(c.DataDir, "postmaster.pid"),
		pgCtl, c.DataDir, pgCtl, c.DataDir)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: c.cred}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pglocal: watchdog: %w", err)
	}
	return cmd.Process.Release()
}
