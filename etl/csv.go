package etl

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// csvReader is a strict RFC 4180 reader that, unlike encoding/csv, keeps
// going after a record with broken quoting: the record (every physical line it
// swallowed, up to the line where the quoting broke) comes back with Err set,
// and reading resumes on the next line. It counts physical lines so a reject
// can name the line where its record starts, and it keeps the record's raw
// bytes for the rejects file.
//
// Field slices point into the reader's buffers and are valid until the next
// call to Read.
type csvReader struct {
	br     *bufio.Reader
	line   int    // physical lines consumed so far
	raw    []byte // the current record's bytes as read, line endings included
	data   []byte // field contents, unescaped
	ends   []int  // end offset of each field in data
	fields [][]byte
	eof    bool
	nread  int64 // bytes consumed, for progress
}

// record is one logical CSV record.
type record struct {
	Line   int      // first physical line (1-based)
	Fields [][]byte // nil when Err != ""
	Raw    []byte   // the record's bytes without its final line break
	Err    string   // why the record does not parse; "" when it does
}

func newCSVReader(r io.Reader) *csvReader {
	return &csvReader{br: bufio.NewReaderSize(r, 1<<20)}
}

// readLine appends one physical line (with its '\n', if any) to c.raw and
// reports whether anything was read.
func (c *csvReader) readLine() (bool, error) {
	if c.eof {
		return false, nil
	}
	start := len(c.raw)
	for {
		chunk, err := c.br.ReadSlice('\n')
		c.raw = append(c.raw, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			c.eof = true
			break
		}
		return false, err
	}
	n := len(c.raw) - start
	c.nread += int64(n)
	if n == 0 {
		return false, nil
	}
	c.line++
	return true, nil
}

// Read returns the next record, or io.EOF after the last one.
func (c *csvReader) Read(rec *record) error {
	c.raw = c.raw[:0]
	c.data = c.data[:0]
	c.ends = c.ends[:0]
	ok, err := c.readLine()
	if err != nil {
		return err
	}
	if !ok {
		return io.EOF
	}
	*rec = record{Line: c.line}
	pos := 0
	for {
		// At the start of a field.
		if pos < len(c.raw) && c.raw[pos] == '"' {
			pos++
			for {
				i := bytes.IndexByte(c.raw[pos:], '"')
				if i < 0 {
					// The quoted field goes on past this line.
					c.data = append(c.data, c.raw[pos:]...)
					pos = len(c.raw)
					more, err := c.readLine()
					if err != nil {
						return err
					}
					if !more {
						return c.broken(rec, "unterminated quoted field")
					}
					continue
				}
				c.data = append(c.data, c.raw[pos:pos+i]...)
				pos += i + 1
				if pos < len(c.raw) && c.raw[pos] == '"' {
					c.data = append(c.data, '"')
					pos++
					continue
				}
				break
			}
			// After the closing quote: a comma, the end of the line or EOF.
			c.ends = append(c.ends, len(c.data))
			switch {
			case pos < len(c.raw) && c.raw[pos] == ',':
				pos++
				continue
			case atLineEnd(c.raw[pos:]):
				return c.finish(rec)
			default:
				return c.broken(rec, `extraneous " after a quoted field`)
			}
		}
		// Unquoted field: up to the next comma or the end of the line.
		rest := c.raw[pos:]
		i := indexSpecial(rest)
		if i >= 0 && rest[i] == '"' {
			return c.broken(rec, `bare " in an unquoted field`)
		}
		if i >= 0 && rest[i] == ',' {
			c.data = append(c.data, rest[:i]...)
			c.ends = append(c.ends, len(c.data))
			pos += i + 1
			continue
		}
		field := rest
		if i >= 0 {
			field = rest[:i]
		}
		field = bytes.TrimSuffix(field, []byte{'\r'})
		c.data = append(c.data, field...)
		c.ends = append(c.ends, len(c.data))
		return c.finish(rec)
	}
}

// indexSpecial returns the index of the first comma, quote or line feed in
// b, or -1. Unquoted fields are short (ids, numbers), so a plain loop beats
// bytes.IndexAny, which builds its byte set on every call.
func indexSpecial(b []byte) int {
	for i, c := range b {
		if c == ',' || c == '"' || c == '\n' {
			return i
		}
	}
	return -1
}

func atLineEnd(b []byte) bool {
	return len(b) == 0 || b[0] == '\n' || (b[0] == '\r' && (len(b) == 1 || b[1] == '\n'))
}

func (c *csvReader) finish(rec *record) error {
	c.fields = c.fields[:0]
	start := 0
	for _, e := range c.ends {
		c.fields = append(c.fields, c.data[start:e:e])
		start = e
	}
	rec.Fields = c.fields
	rec.Raw = trimEOL(c.raw)
	return nil
}

// broken rejects the current record: the rest of the physical line on which
// the quoting broke belongs to it, and reading resumes on the next line.
func (c *csvReader) broken(rec *record, why string) error {
	rec.Err = why
	rec.Fields = nil
	rec.Raw = trimEOL(c.raw)
	return nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
