package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBareLFAnsweredAtOnce: requests whose lines end in a bare LF (or
// that are not HTTP at all), sent straight to an instance, are answered at once, as NGINX answers them,
// instead of after READ_TIMEOUT (fasthttp waits for a CRLFCRLF that never
// comes). The client's deadline is a fifth of the read timeout.
func TestBareLFAnsweredAtOnce(t *testing.T) {
	base, _, _, _, _ := startServer(t, Config{ReadTimeout: 10 * time.Second})
	addr := strings.TrimPrefix(base, "http://")
	for _, c := range []struct {
		name, request string
		statuses      []int
	}{
		{"GET", "GET /healthz HTTP/1.1\nHost: x\n\n", []int{200}},
		{"HTTP/1.0, no headers", "GET /healthz HTTP/1.0\n\n", []int{200}},
		{"mixed endings", "GET /healthz HTTP/1.1\nHost: x\r\nAccept: */*\n\r\n", []int{200}},
		{"list", "GET /reviews?product_id=1 HTTP/1.1\nHost: x\nUser-Agent: t\n\n", []int{200}},
		{"bad query, answered 422", "GET /reviews?product_id=0 HTTP/1.1\nHost: x\n\n", []int{422}},
		{"POST with a body holding LFs", "POST /reviews HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 9\n\n{\n\"a\":\n1}", []int{422}},
		{"two on one connection", "GET /healthz HTTP/1.1\nHost: x\n\nGET /nope HTTP/1.1\nHost: x\n\n", []int{200, 404}},
		{"then CRLF", "GET /healthz HTTP/1.1\nHost: x\n\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", []int{200, 200}},
		{"no Host", "GET /healthz HTTP/1.1\n\n", []int{400}},
		{"byte by byte", "", []int{200}},
		// Not HTTP at all: answered 400 at once too, not after READ_TIMEOUT.
		{"TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + strings.Repeat("\x00", 32), []int{400}},
		{"binary garbage", "\x89PNG\x00\x01", []int{400}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			if c.request == "" {
				for _, b := range []byte("GET /healthz HTTP/1.1\nHost: x\n\n") {
					if _, err := conn.Write([]byte{b}); err != nil {
						t.Fatal(err)
					}
					time.Sleep(time.Millisecond)
				}
			} else if _, err := io.WriteString(conn, c.request); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(conn)
			for i, want := range c.statuses {
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					t.Fatalf("response %d: %v (the server waits for more)", i+1, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("response %d: %d %s, want %d", i+1, resp.StatusCode, body, want)
				}
				if want != 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Errorf("response %d: %s %q, want the API's JSON error", i+1, resp.Header.Get("Content-Type"), body)
				}
			}
		})
	}
}

// TestBareLFConnLeavesOtherBytes: the rewriting touches only a bare-LF
// head; CRLF requests and bodies pass byte for byte, whatever the read
// sizes.
func TestBareLFConnLeavesOtherBytes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET / HTTP/1.1\nHost: x\n\nbody\nmore\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\nmore\n"},
		{"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\na\nb\n", "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\na\nb\n"},
		{"not a request line\nx\n\n", "not a request line\nx\n\n"},
		{"\nGET / HTTP/1.0\nA: b\r\n\n", "\nGET / HTTP/1.0\r\nA: b\r\n\r\n"},
		// A body after a rewritten head passes as it is, then the next head.
		{"POST / HTTP/1.1\nContent-length:  3\n\na\nbGET / HTTP/1.1\nHost: x\n\n",
			"POST / HTTP/1.1\r\nContent-length:  3\r\n\r\na\nbGET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		// Chunked: the framing is fasthttp's from there on.
		{"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n1\nx\n0\n\nGET / HTTP/1.1\n\n",
			"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\n0\n\nGET / HTTP/1.1\n\n"},
	} {
		for _, size := range []int{1, 2, 3, 7, 64} {
			client, server := net.Pipe()
			go func() { io.WriteString(client, c.in); client.Close() }()
			conn := &bareLFConn{Conn: server}
			var got []byte
			buf := make([]byte, size)
			for {
				n, err := conn.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			if string(got) != c.want {
				t.Errorf("%q read %d at a time: %q, want %q", c.in, size, got, c.want)
			}
		}
	}
}
