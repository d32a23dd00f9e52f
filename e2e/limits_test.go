package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// headerUpstream stands in for an instance and measures what NGINX sends
// it: the bytes of each request's line and headers (up to the blank line).
type headerUpstream struct {
	addr     string
	requests atomic.Int64
	maxHead  atomic.Int64
}

func startHeaderUpstream(t *testing.T) *headerUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &headerUpstream{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	return u
}

func (u *headerUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		n, length := 0, 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			n += len(line)
			if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Content-Length") {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if line == "\r\n" {
				break
			}
		}
		if _, err := io.CopyN(io.Discard, br, int64(length)); err != nil {
			return
		}
		u.requests.Add(1)
		for {
			m := u.maxHead.Load()
			if int64(n) <= m || u.maxHead.CompareAndSwap(m, int64(n)) {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}")
	}
}

// headerShape is a request of n header lines of one kind.
type headerShape struct {
	name string
	make func(n int) string
}

func headerShapes() []headerShape {
	lines := func(start, line string) func(int) string {
		return func(n int) string { return start + strings.Repeat(line, n) + "\r\n" }
	}
	bigLine := "X-Big: " + strings.Repeat("x", 4000) + "\r\n"
	return []headerShape{
		// The worst case: NGINX passes "a:\n" on as "a: \r\n".
		{"3-byte header lines with bare LF", func(n int) string {
			return "GET /healthz HTTP/1.1\nHost: c\n" + strings.Repeat("a:\n", n) + "\n"
		}},
		{"short header lines", lines("GET /healthz HTTP/1.1\r\nHost: c\r\n", "a:b\r\n")},
		// Some builds (Debian's) also refuse over 1,000 header lines:
		// 9-byte lines reach the 9 KiB total within that.
		{"9-byte header lines with bare LF", lines("GET /healthz HTTP/1.1\nHost: c\n", "a:bbbbbb\n")},
		{"two 4000-byte lines, then 9-byte lines", lines("GET /healthz HTTP/1.1\nHost: c\n"+bigLine+bigLine, "a:bbbbbb\n")},
		{"4000-byte header lines", lines("GET /healthz HTTP/1.1\r\nHost: c\r\n", bigLine)},
		// NGINX appends the client's address to X-Forwarded-For.
		{"X-Forwarded-For and short lines", lines("GET /healthz HTTP/1.1\r\nHost: c\r\nX-Forwarded-For: "+strings.Repeat("1", 4000)+"\r\n", "a:\n")},
		// NGINX adds an Idempotency-Key to a vote.
		{"helpful vote with short lines", lines("PUT /reviews/2147483647/helpful HTTP/1.1\r\nHost: c\r\nContent-Length: 0\r\n", "a:\n")},
		{"long request line", func(n int) string {
			return "GET /healthz?" + strings.Repeat("q", n) + " HTTP/1.1\r\nHost: c\r\n\r\n"
		}},
	}
}

// largestPassed finds the largest n for which NGINX passes shape on
// (answers 200 from the stand-in), checking that above it NGINX answers
// 431 or 414 itself, as JSON, without passing anything on.
func largestPassed(t *testing.T, nginxAddr string, up *headerUpstream, sh headerShape) int {
	t.Helper()
	passes := func(n int) bool {
		t.Helper()
		before := up.requests.Load()
		r := rawDo(nginxAddr, "", []byte(sh.make(n)))
		switch {
		case r.Status == 200:
			return true
		case (r.Status == 431 || r.Status == 414) && isErrorJSON(r.Body) && r.Header.Get("Content-Type") == "application/json; charset=utf-8":
			if up.requests.Load() != before {
				t.Errorf("%s, n=%d: NGINX answered %d but passed the request on", sh.name, n, r.Status)
			}
			return false
		default:
			t.Fatalf("%s, n=%d: %s, want 200 or NGINX's JSON 431/414", sh.name, n, r)
			return false
		}
	}
	lo, hi := 0, 1
	for passes(hi) {
		lo, hi = hi, hi*2
		if hi > 1<<20 {
			t.Fatalf("%s: NGINX passes %d lines on", sh.name, hi)
		}
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; passes(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// TestNginxHeaderLimits: NGINX refuses an oversize request line or header
// itself (414/431, JSON) and passes on at most the documented 15,610 bytes
// of request line and headers, so every request it passes on fits an
// instance's default MAX_HEADER_BYTES (16 KiB): an instance never refuses
// (and resets) a request NGINX passed on, which NGINX would count as the
// instance failing.
func TestNginxHeaderLimits(t *testing.T) {
	up := startHeaderUpstream(t)
	p := startNginx(t, []string{up.addr, up.addr, up.addr})
	nginxAddr := "127.0.0.1:" + strconv.Itoa(p.Port)
	largest := map[string]int{}
	for _, sh := range headerShapes() {
		largest[sh.name] = largestPassed(t, nginxAddr, up, sh)
		t.Logf("%s: NGINX passes %d lines, %d bytes at most", sh.name, largest[sh.name], len(sh.make(largest[sh.name])))
	}
	const bound = 15610 // nginx.conf: 9216 * 5/3 + 250
	if m := up.maxHead.Load(); m > bound {
		t.Errorf("NGINX passed on %d bytes of request line and headers, over the documented %d", m, bound)
	} else {
		t.Logf("NGINX passed on at most %d bytes of request line and headers (bound %d)", m, bound)
	}

	// The largest of each shape through NGINX to real instances: served,
	// not refused.
	c := startCluster(t)
	addr := "127.0.0.1:" + strconv.Itoa(c.Nginx.Port)
	for _, sh := range headerShapes() {
		r := rawDo(addr, "", []byte(sh.make(largest[sh.name])))
		if r.Status != 200 && r.Status != 404 {
			t.Errorf("%s, the largest NGINX passes on: %s, want the instance's answer (200, or 404 for the absent review)", sh.name, r)
		}
	}
	if log := c.Nginx.out.String(); strings.Contains(log, "prematurely closed") || strings.Contains(log, "failed (104") {
		t.Errorf("an instance refused a request NGINX passed on:\n%s", log)
	}
}

// TestNginxRateLimits: a client over the per-address request rate or with
// too many requests in progress gets NGINX's JSON 429 with Retry-After;
// 127.0.0.1, exempt in the local copy (see nginxConfig), never does.
func TestNginxRateLimits(t *testing.T) {
	gate := make(chan struct{})
	var held atomic.Int64
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			held.Add(1)
			<-gate
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"status":"ok"}`)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go slow.Serve(ln)
	t.Cleanup(func() { slow.Close() })
	up := ln.Addr().String()
	p := startNginx(t, []string{up, up, up})

	// burst sends n requests for path from local, conc at a time, and
	// counts the answers by status; every 429 must be the JSON shape.
	burst := func(local, path string, n, conc int) map[int]int {
		t.Helper()
		tr := &http.Transport{
			DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).DialContext,
			MaxIdleConnsPerHost: conc,
		}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					resp, err := cl.Get(p.URL(path))
					if err != nil {
						t.Errorf("GET %s from %s: %v", path, local, err)
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 429 && (!isErrorJSON(string(b)) || resp.Header.Get("Retry-After") == "" ||
						resp.Header.Get("Content-Type") != "application/json; charset=utf-8") {
						t.Errorf("429 %q %v, want JSON with Retry-After", b, resp.Header)
					}
					mu.Lock()
					counts[resp.StatusCode]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return counts
	}

	// Rate: 5,000 requests as fast as 16 connections go, above 100/s
	// with a burst of 200 from one address unless they took 48 s
	// (nodelay: the excess is refused at once, never queued).
	if got := burst("127.0.0.1", "/healthz", 5000, 16); got[200] != 5000 {
		t.Errorf("from exempt 127.0.0.1: %v, want 5000 × 200", got)
	}
	got := burst("127.0.0.2", "/healthz", 5000, 16)
	if got[429] == 0 || got[200] < 200 || got[200]+got[429] != 5000 {
		t.Errorf("from 127.0.0.2: %v, want some 429 after the burst of 200, nothing else", got)
	}

	// Requests in progress: 100 per address; the 101st waits for none.
	// (A fresh address: 127.0.0.2's rate allowance is spent.)
	var wg sync.WaitGroup
	slowStatus := make([]int, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rawDo("127.0.0.1:"+strconv.Itoa(p.Port), "127.0.0.3", []byte("GET /slow HTTP/1.1\r\nHost: c\r\n\r\n"))
			slowStatus[i] = r.Status
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for held.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := held.Load(); n != 100 {
		close(gate)
		wg.Wait()
		t.Fatalf("%d of 100 slow requests reached the stand-in", n)
	}
	r := rawDo("127.0.0.1:"+strconv.Itoa(p.Port), "127.0.0.3", []byte("GET /healthz HTTP/1.1\r\nHost: c\r\n\r\n"))
	if r.Status != 429 || r.Header.Get("Retry-After") == "" || !isErrorJSON(r.Body) {
		t.Errorf("the 101st request in progress from one address: %s, want JSON 429 with Retry-After", r)
	}
	if r := rawDo("127.0.0.1:"+strconv.Itoa(p.Port), "127.0.0.4", []byte("GET /healthz HTTP/1.1\r\nHost: c\r\n\r\n")); r.Status != 200 {
		t.Errorf("another address meanwhile: %s, want 200", r)
	}
	close(gate)
	wg.Wait()
	for i, s := range slowStatus {
		if s != 200 {
			t.Errorf("slow request %d: %d, want 200", i, s)
		}
	}
}
