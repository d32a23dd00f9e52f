package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/catwalk/reviews/testdb"
	"github.com/catwalk/reviews/testnet"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// repoRoot is the module root (this package's parent directory).
func repoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("cannot locate the repository")
	}
	return filepath.Dir(filepath.Dir(file))
}

// catwalkBinary builds the catwalk binary into the test's temporary
// directory (the build cache makes repeats cheap): the SIGTERM test needs a
// real process to signal.
func catwalkBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "catwalk")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = repoRoot(tb)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// nginxBinary finds nginx or fails the test saying how to install it: the
// NGINX tests never skip.
func nginxBinary(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Fatal("nginx is not installed, and the NGINX tests need it (they never skip): install it, e.g. `apt-get update && apt-get install -y nginx` (Debian) or `brew install nginx` (macOS)")
	return ""
}

// waitHTTP polls url until it answers 200 or the deadline passes.
func waitHTTP(tb testing.TB, url string, within time.Duration, logs func() string) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("%s did not answer 200 within %s\n%s", url, within, logs())
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is a child process serving on a loopback port.
type process struct {
	Port    int
	name    string
	stopSig os.Signal
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{} // closed once the process has exited; err is its status
	err     error
}

// startProcess starts cmd, collecting its output; it is stopped with
// stopSig when tb ends.
func startProcess(tb testing.TB, name string, port int, stopSig os.Signal, cmd *exec.Cmd) *process {
	tb.Helper()
	p := &process{Port: port, name: name, stopSig: stopSig, cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() { p.Stop(tb) })
	return p
}

func (p *process) URL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(p.Port) + path
}

// Stop signals the process and waits for it to exit, killing it after 30s;
// it returns the exit status (nil: clean exit). Stopping again is harmless.
func (p *process) Stop(tb testing.TB) error {
	tb.Helper()
	select {
	case <-p.exited:
		return p.err
	default:
	}
	p.cmd.Process.Signal(p.stopSig)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		tb.Errorf("%s on :%d ignored %v for 30s\n%s", p.name, p.Port, p.stopSig, p.out.String())
		return p.err
	}
}

// startInstance runs bin's `catwalk serve` on the package's test database
// with env added to its environment; it is stopped (SIGTERM) when tb ends.
func startInstance(tb testing.TB, bin string, env ...string) *process {
	tb.Helper()
	port := testnet.FreePort(tb)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+testdb.URL(tb),
		"PORT="+strconv.Itoa(port),
		"DATABASE_READ_URL=",
		"NEW_RELIC_LICENSE_KEY=",
		"DRAIN_DELAY=200ms",
		"SHUTDOWN_TIMEOUT=5s",
	)
	cmd.Env = append(cmd.Env, env...)
	in := startProcess(tb, "catwalk serve", port, syscall.SIGTERM, cmd)
	waitHTTP(tb, in.URL("/healthz"), 30*time.Second, in.out.String)
	return in
}

// nginxConfig derives the local config from the repository's nginx.conf:
// only the listen line, the three upstream server lines and the line that
// exempts 127.0.0.1 from the per-client limits change (as in
// scripts/cluster.sh: the tests send thousands of requests a second from
// 127.0.0.1; the limit tests connect from 127.0.0.2). Each must be found
// exactly once, so an edit that breaks the derivation fails here rather
// than testing something other than what is deployed.
func nginxConfig(tb testing.TB, port int, upstreams []string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(tb), "nginx.conf"))
	if err != nil {
		tb.Fatal(err)
	}
	conf := string(b)
	replace := func(old, new string) {
		tb.Helper()
		if n := strings.Count(conf, old); n != 1 {
			tb.Fatalf("nginx.conf: %q occurs %d times, want once", old, n)
		}
		conf = strings.Replace(conf, old, new, 1)
	}
	replace("listen 8080;", "listen 127.0.0.1:"+strconv.Itoa(port)+";")
	replace("127.0.0.1 0;", "127.0.0.1 1;")
	if len(upstreams) != 3 {
		tb.Fatalf("nginx.conf has three upstream servers; got %d addresses", len(upstreams))
	}
	for i, u := range upstreams {
		replace(fmt.Sprintf("server api%d:3000 max_fails=3 fail_timeout=10s resolve;", i+1), "server "+u+" max_fails=3 fail_timeout=10s;")
	}
	return conf
}

// startNginx runs NGINX with nginx.conf in front of upstreams (host:port),
// with its own prefix, pid file and config under a temporary directory;
// it is stopped (SIGQUIT, graceful) when tb ends.
func startNginx(tb testing.TB, upstreams []string) *process {
	tb.Helper()
	bin := nginxBinary(tb)
	dir, err := os.MkdirTemp("", "catwalk-e2e-nginx-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	// Workers may run as another user (nobody) and write temp files here.
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	port := testnet.FreePort(tb)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(tb, port, upstreams)), 0o644); err != nil {
		tb.Fatal(err)
	}
	p := startProcess(tb, "nginx", port, syscall.SIGQUIT,
		exec.Command(bin, "-p", dir, "-c", conf, "-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+";"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.Port))
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.exited:
			tb.Fatalf("nginx exited: %v\n%s", p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nginx did not listen within 10s\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cluster is three instances behind NGINX.
type cluster struct {
	Instances []*process
	Nginx     *process
}

func startCluster(tb testing.TB, env ...string) *cluster {
	tb.Helper()
	c := &cluster{}
	bin := catwalkBinary(tb)
	var ups []string
	for range 3 {
		in := startInstance(tb, bin, env...)
		c.Instances = append(c.Instances, in)
		ups = append(ups, "127.0.0.1:"+strconv.Itoa(in.Port))
	}
	c.Nginx = startNginx(tb, ups)
	return c
}

// client talks to NGINX without transparent decompression, so tests see
// exactly what NGINX sends.
var client = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
}

type response struct {
	Status int
	Header http.Header
	Body   string
}

func do(tb testing.TB, method, url, body string, header ...string) response {
	tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// metricValue returns the value of the sample line `series value` in a
// Prometheus text body, and whether it is there.
func metricValue(body, series string) (float64, bool) {
	s := bufio.NewScanner(strings.NewReader(body))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		name, val, ok := strings.Cut(s.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(val, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// rawResponse is what a server sent back to raw bytes on a new connection.
type rawResponse struct {
	// Status is 0 when the answer had no status line (NGINX answers an
	// HTTP/0.9 request with the body alone).
	Status int
	Header http.Header
	Body   string
	// Err: no answer (the connection closed, or nothing within the
	// deadline).
	Err error
}

func (r rawResponse) String() string {
	if r.Err != nil {
		return "no answer: " + r.Err.Error()
	}
	return fmt.Sprintf("%d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
}

// rawDo writes req on a new connection to addr (from local, when set, a
// loopback address such as 127.0.0.2) and reads one response. The
// deadline only guards against a server that never answers: every case
// is expected to be answered at once.
func rawDo(addr, local string, req []byte) rawResponse {
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return rawResponse{Err: err}
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	// A server may answer and close before reading everything (a body
	// over the limit): the answer is what counts, not the write error.
	go c.Write(req)
	br := bufio.NewReader(c)
	head, err := br.Peek(5)
	if err != nil && len(head) == 0 {
		return rawResponse{Err: err}
	}
	if string(head) != "HTTP/" {
		rest, _ := io.ReadAll(br)
		return rawResponse{Body: string(rest)}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return rawResponse{Err: err}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return rawResponse{Err: fmt.Errorf("reading the body: %w", err)}
	}
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// isErrorJSON reports whether body is the API's error shape: an object
// with a non-empty "error" string (and perhaps the "field" at fault).
func isErrorJSON(body string) bool {
	var e map[string]any
	if json.Unmarshal([]byte(body), &e) != nil {
		return false
	}
	msg, ok := e["error"].(string)
	if !ok || msg == "" {
		return false
	}
	for k := range e {
		if k != "error" && k != "field" {
			return false
		}
	}
	return true
}
