package server

import (
	"bytes"
	"net"
)

// fasthttp ends a request's header block only at a CRLFCRLF: a request
// whose lines end in a bare LF ("GET / HTTP/1.1\nHost: x\n\n") is never
// complete to it, and the client waits READ_TIMEOUT for a 400. NGINX, in
// front in production, reads such a request as if its lines ended in
// CRLF (RFC 9112, section 2.2 allows a recipient to), so a client talking
// to an instance directly gets the same: bareLFListener's connections
// rewrite the bare LFs of a request's head to CRLF before fasthttp reads
// them.
//
// Only heads whose request line itself ends in a bare LF after
// "HTTP/1.0" or "HTTP/1.1" are touched, up to and including the empty line
// that ends the head; a request line ending in CRLF (every ordinary
// client) leaves the connection's bytes as they come until the next
// response, and bodies are never rewritten. After a rewritten head the
// body (Content-Length bytes) passes as it is and the next request's head
// is looked at again, so pipelined bare-LF requests work too; a rewritten
// head with a Transfer-Encoding passes the rest of the connection's bytes
// until the next response. A request's head starts a connection or
// follows a response (a Write other than "100 Continue").
type bareLFListener struct{ net.Listener }

func (l bareLFListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &bareLFConn{Conn: c}, nil
}

const (
	lfStart   = iota // in a request line: undecided
	lfRewrite        // in a bare-LF head: LF becomes CRLF
	lfBody           // in the body after a rewritten head
	lfPass           // CRLF head, or framing unknown: bytes pass as they come
)

type bareLFConn struct {
	net.Conn
	state     uint8
	prev      byte   // the byte before, within the head
	lineLen   int    // bytes of the current line, CR aside
	last8     uint64 // the request line's last eight bytes, CR aside
	line      []byte // the current header line's first bytes, lower case
	length    int64  // Content-Length of a rewritten head
	chunked   bool   // a rewritten head has a Transfer-Encoding
	remaining int64  // body bytes still to pass
	pending   []byte // rewritten bytes that did not fit the caller's buffer
	err       error  // the read error to return once pending is drained
	buf       []byte
}

var (
	http10 = tail8("HTTP/1.0")
	http11 = tail8("HTTP/1.1")
)

func tail8(s string) (v uint64) {
	for i := 0; i < len(s); i++ {
		v = v<<8 | uint64(s[i])
	}
	return v
}

var continueLine = []byte("HTTP/1.1 100 ")

// newHead: the next bytes start a request.
func (c *bareLFConn) newHead() {
	c.state, c.prev, c.lineLen, c.last8 = lfStart, 0, 0, 0
	c.line, c.length, c.chunked, c.remaining = c.line[:0], 0, false, 0
}

func (c *bareLFConn) Write(p []byte) (int, error) {
	// After a CRLF head the connection's framing is fasthttp's alone: its
	// response (not an interim 100) ends the request.
	if c.state == lfPass && !bytes.HasPrefix(p, continueLine) {
		c.newHead()
	}
	return c.Conn.Write(p)
}

func (c *bareLFConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		if len(c.pending) == 0 && c.err != nil {
			err := c.err
			c.err = nil
			return n, err
		}
		return n, nil
	}
	n, err := c.Conn.Read(p)
	if c.state == lfPass || n == 0 {
		return n, err
	}
	if c.state == lfStart && c.lineLen == 0 {
		if i := firstNonCRLF(p[:n]); i >= 0 && !isTokenByte(p[i]) {
			// Not HTTP (a TLS ClientHello on the plain port, binary
			// garbage): a request line starts with a method, a token.
			// fasthttp would wait READ_TIMEOUT for a line end that may
			// never come; end the head here so it answers its 400 now.
			c.state = lfPass
			c.pending = append(c.pending[:0], "\r\n\r\n"...)
			c.err = err
			return n, nil
		}
	}
	if c.state == lfStart && c.lineLen == 0 && c.prev == 0 {
		// The common case: a whole CRLF request line at the start of a
		// read. Nothing to copy.
		if i := bytes.IndexByte(p[:n], '\n'); i > 1 && p[i-1] == '\r' && p[0] != '\r' {
			c.state = lfPass
			return n, err
		}
	}
	out, changed := c.process(p[:n])
	if !changed {
		return n, err // out holds the same bytes as p
	}
	m := copy(p, out)
	if m < len(out) {
		c.pending = append(c.pending[:0], out[m:]...)
		c.err = err
		return m, nil
	}
	return m, err
}

// process returns in with a CR before every bare LF of a bare-LF head,
// and whether it added any.
func (c *bareLFConn) process(in []byte) (out []byte, changed bool) {
	out = c.buf[:0]
	for i := 0; i < len(in); i++ {
		ch := in[i]
		switch c.state {
		case lfPass:
			out = append(out, in[i:]...)
			c.buf = out[:0]
			return out, changed
		case lfBody:
			k := int(min(c.remaining, int64(len(in)-i)))
			out = append(out, in[i:i+k]...)
			c.remaining -= int64(k)
			i += k - 1
			if c.remaining == 0 {
				c.newHead()
			}
			continue
		case lfStart:
			switch ch {
			case '\n':
				if c.lineLen == 0 {
					break // empty lines before a request line are allowed
				}
				if c.prev != '\r' && (c.last8 == http11 || c.last8 == http10) {
					c.state = lfRewrite // and this LF ends its first line
				} else {
					c.state = lfPass
				}
			case '\r':
			default:
				c.lineLen++
				c.last8 = c.last8<<8 | uint64(ch)
			}
			if c.state != lfRewrite {
				out = append(out, ch)
				c.prev = ch
				continue
			}
		}
		// lfRewrite
		switch ch {
		case '\n':
			if c.prev != '\r' {
				out = append(out, '\r')
				changed = true
			}
			out = append(out, ch)
			if c.lineLen == 0 {
				c.endHead()
			} else {
				c.headerLine()
				c.lineLen, c.line = 0, c.line[:0]
				c.prev = ch
			}
			continue
		case '\r':
		default:
			c.lineLen++
			if len(c.line) < 32 {
				c.line = append(c.line, lower(ch))
			}
		}
		out = append(out, ch)
		c.prev = ch
	}
	c.buf = out[:0]
	return out, changed
}

func lower(ch byte) byte {
	if 'A' <= ch && ch <= 'Z' {
		return ch + 'a' - 'A'
	}
	return ch
}

// headerLine notes the framing headers of a rewritten head.
func (c *bareLFConn) headerLine() {
	if v, ok := bytes.CutPrefix(c.line, []byte("content-length:")); ok {
		v = bytes.TrimLeft(v, " \t")
		var n int64
		for _, d := range v {
			if d < '0' || d > '9' || n > 1<<40 {
				break
			}
			n = n*10 + int64(d-'0')
		}
		c.length = n
	}
	if bytes.HasPrefix(c.line, []byte("transfer-encoding:")) {
		c.chunked = true
	}
}

// endHead: the empty line. The body, if any, passes as it is; then the
// next request's head.
func (c *bareLFConn) endHead() {
	switch {
	case c.chunked:
		c.state = lfPass
	case c.length > 0:
		c.state, c.remaining = lfBody, c.length
	default:
		c.newHead()
	}
}

func firstNonCRLF(b []byte) int {
	for i, ch := range b {
		if ch != '\r' && ch != '\n' {
			return i
		}
	}
	return -1
}

// isTokenByte: ch may appear in a token (RFC 9110, section 5.6.2), so in a
// method.
func isTokenByte(ch byte) bool {
	switch {
	case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		return true
	}
	return ch < 0x80 && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), ch) >= 0
}
