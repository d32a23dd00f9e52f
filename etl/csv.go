package etl

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// csvReader is a strict RFC 4180 reader that, unlike encoding/csv, keeps
// going after a record with broken quoting: the record (every physical line it
// swallowed, up to the line where the quoting broke) comes back with Err set,
// and reading resumes on the next line. It counts physical lines so a reject
// can name the line where its record starts, and it keeps the record's raw
// bytes for the rejects file.
//
// A record never holds more than maxRecord bytes, so a broken quote cannot
// swallow the rest of a file into memory: a record that grows past the cap
// (a quote opened and never closed, or a line without line breaks) is
// rejected, its first maxRecord bytes kept for the rejects file, and reading
// resumes at the next line that starts a plausible record (see plausible).
// The rest of the lines it swallowed are counted, not kept.
//
// Field slices point into the reader's buffers and are valid until the next
// call to Read.
type csvReader struct {
	br     *bufio.Reader
	max    int    // largest record in bytes (MaxRecordBytes)
	line   int    // physical lines consumed so far
	raw    []byte // the current record's bytes as read, line endings included; at most max
	over   bool   // the current record had more bytes than max: raw holds the first max
	data   []byte // field contents, unescaped
	ends   []int  // end offset of each field in data
	fields [][]byte
	eof    bool
	nread  int64 // bytes consumed, for progress and accounting
}

// MaxRecordBytes caps one CSV record (all its physical lines). Any review the
// API accepts is far below it (body ≤ 1000 characters, summary, name and
// email ≤ 60: under 5 KB of CSV even in 4-byte UTF-8 with every quote
// doubled), and so are the generated files' records (under 2 KB); it is 64
// KiB like the API's largest request body. A stray quote therefore costs at
// most 64 KiB of rows (about 3,000 lines of characteristic_reviews.csv), all
// of them in the rejects file's count.
const MaxRecordBytes = 64 << 10

// record is one logical CSV record.
type record struct {
	Line   int      // first physical line (1-based)
	Lines  int      // physical lines the record took, the swallowed ones included
	Size   int64    // bytes the record took, line breaks and swallowed lines included
	Fields [][]byte // nil when Err != ""
	Raw    []byte   // the record's bytes without its final line break (the first maxRecord only, when Err says it was too long)
	Err    string   // why the record does not parse; "" when it does
}

func newCSVReader(r io.Reader) *csvReader { return newCSVReaderSize(r, 1<<20) }

// newCSVReaderSize reads through a buffer of size bytes (at least 16; the
// fuzz target uses small ones to reach every path of readLine and resync).
func newCSVReaderSize(r io.Reader, size int) *csvReader {
	return &csvReader{br: bufio.NewReaderSize(r, size), max: MaxRecordBytes}
}

// readLine appends one physical line (with its '\n', if any) to c.raw and
// reports whether anything was read. Past c.max bytes of record it reads on
// to the end of the line but keeps nothing more, and sets c.over.
func (c *csvReader) readLine() (bool, error) {
	if c.eof {
		return false, nil
	}
	var n int64
	for {
		chunk, err := c.br.ReadSlice('\n')
		n += int64(len(chunk))
		if room := c.max - len(c.raw); len(chunk) > room {
			chunk = chunk[:room]
			c.over = true
		}
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
	c.nread += n
	if n == 0 {
		return false, nil
	}
	c.line++
	return true, nil
}

// skipLine consumes one physical line without keeping it.
func (c *csvReader) skipLine() error {
	for {
		chunk, err := c.br.ReadSlice('\n')
		c.nread += int64(len(chunk))
		switch {
		case err == nil:
			c.line++
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			c.eof = true
			if len(chunk) > 0 {
				c.line++
			}
			return nil
		default:
			return err
		}
	}
}

// maxIDDigits is the most digits an id has (2147483647).
const maxIDDigits = 10

// plausible reports whether b, the start of a line, can start a record of
// the source files: every one of them begins with an integer id and a comma.
// A header or a line of some long text rarely does.
func plausible(b []byte) bool {
	for i, ch := range b {
		switch {
		case ch >= '0' && ch <= '9' && i < maxIDDigits:
		case ch == ',' && i > 0:
			return true
		default:
			return false
		}
	}
	return false
}

// resync skips the lines after a record that outgrew the cap, up to the
// next line that starts a plausible record or the end of the input.
func (c *csvReader) resync() error {
	for !c.eof {
		b, err := c.br.Peek(maxIDDigits + 1)
		if len(b) == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			c.eof = true
			return nil
		}
		if plausible(b) {
			return nil
		}
		if err := c.skipLine(); err != nil {
			return err
		}
	}
	return nil
}

// Read returns the next record, or io.EOF after the last one.
func (c *csvReader) Read(rec *record) error {
	c.raw = c.raw[:0]
	c.data = c.data[:0]
	c.ends = c.ends[:0]
	c.over = false
	start := c.nread
	ok, err := c.readLine()
	if err != nil {
		return err
	}
	if !ok {
		return io.EOF
	}
	*rec = record{Line: c.line}
	defer func() {
		rec.Lines = c.line - rec.Line + 1
		rec.Size = c.nread - start
	}()
	if c.over {
		// One physical line longer than the cap: it is the whole record.
		return c.broken(rec, c.tooLong())
	}
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
					if c.over {
						// An open quote ran past the cap: give up on this
						// record and read on where a record may start.
						if err := c.resync(); err != nil {
							return err
						}
						return c.broken(rec, c.tooLong())
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

func (c *csvReader) tooLong() string {
	return "record longer than " + strconv.Itoa(c.max) + " bytes"
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
