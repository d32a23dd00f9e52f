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
// A record never holds more than max bytes, so a broken quote cannot
// swallow the rest of a file into memory or into one reject. A physical
// line longer than max is rejected alone (its first max bytes kept for the
// rejects file). A quoted field still open past max bytes is taken for a
// stray quote: the record is rejected with its first line only, and the
// lines it swallowed after that one are read again as records (from a
// buffer: at most 2*max bytes are held), so one stray quote costs one row.
// Below the cap, a broken record stays one record however many lines it
// took, as API.md says.
//
// Field slices point into the reader's buffers and are valid until the next
// call to Read.
type csvReader struct {
	br   *bufio.Reader
	max  int    // largest record in bytes (MaxRecordBytes)
	line int    // physical lines consumed so far
	raw  []byte // the current record's bytes as read, line endings included; at most 2*max
	over bool   // readLine cut the line it read: raw holds the record's first bytes only
	last int64  // bytes the last readLine consumed

	// After a record past the cap, the lines it swallowed after its first
	// are read again: back holds them (complete lines), then cut is the
	// line that crossed the cap if readLine had to cut it (cutSize bytes,
	// rejected as too long). A record that starts in back is never given
	// back again, so every byte is read at most twice.
	back     []byte
	backBuf  []byte
	cut      []byte
	cutSize  int64
	hasCut   bool
	replayed bool   // the current record started in back
	data     []byte // field contents, unescaped
	ends     []int  // end offset of each field in data
	fields   [][]byte
	eof      bool
	nread    int64 // bytes consumed, for progress and accounting
}

// MaxRecordBytes caps one CSV record (all its physical lines). Any review the
// API accepts is far below it (body ≤ 1000 characters, summary, name and
// email ≤ 60: under 5 KB of CSV even in 4-byte UTF-8 with every quote
// doubled), and so are the generated files' records (under 2 KB); it is 64
// KiB like the API's largest request body. Past it a quoted field is taken
// for a stray quote (see csvReader), which then costs its own row only.
const MaxRecordBytes = 64 << 10

// record is one logical CSV record.
type record struct {
	Line   int      // first physical line (1-based)
	Lines  int      // physical lines the record took, the swallowed ones included
	Size   int64    // bytes the record took, line breaks and swallowed lines included
	Fields [][]byte // nil when Err != ""
	Raw    []byte   // the record's bytes without its final line break (the first max only, when Err says it was too long)
	Err    string   // why the record does not parse; "" when it does
}

func newCSVReader(r io.Reader) *csvReader { return newCSVReaderSize(r, 1<<20) }

// newCSVReaderSize reads through a buffer of size bytes (at least 16; the
// fuzz target uses small ones to reach every path of readLine and resync).
func newCSVReaderSize(r io.Reader, size int) *csvReader {
	return &csvReader{br: bufio.NewReaderSize(r, size), max: MaxRecordBytes}
}

// readLine appends one physical line (with its '\n', if any) to c.raw and
// reports whether anything was read: from back while it lasts, else from
// the input. Past limit bytes of record it reads on to the end of the line
// but keeps nothing more, and sets c.over. In a record that started in
// back, the end of back ends the input.
func (c *csvReader) readLine(limit int) (bool, error) {
	var n int64
	done := false
	keep := func(chunk []byte) {
		n += int64(len(chunk))
		if room := limit - len(c.raw); len(chunk) > room {
			chunk = chunk[:room]
			c.over = true
		}
		c.raw = append(c.raw, chunk...)
	}
	if len(c.back) > 0 {
		chunk := c.back
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			chunk = chunk[:i+1]
		}
		c.back = c.back[len(chunk):]
		keep(chunk)
		done = true // back holds complete lines only
	} else if c.replayed || c.hasCut {
		return false, nil
	}
	for !done && !c.eof {
		chunk, err := c.br.ReadSlice('\n')
		keep(chunk)
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
	c.last = n
	if n == 0 {
		return false, nil
	}
	c.line++
	return true, nil
}

// giveBack ends the current record, whose quoted field ran past the cap,
// after its first line, and puts the lines after it back to be read again.
func (c *csvReader) giveBack(rec *record) error {
	first := bytes.IndexByte(c.raw, '\n') + 1
	rest := c.raw[first:]
	if c.over {
		// The line that crossed the cap was cut: it is not read again
		// but rejected on its own once the lines before it are.
		nl := bytes.LastIndexByte(rest, '\n') + 1
		c.cut = append(c.cut[:0], rest[nl:]...)
		c.cutSize, c.hasCut = c.last, true
		rest = rest[:nl]
		c.nread -= c.last
		c.line--
	}
	c.backBuf = append(c.backBuf[:0], rest...)
	c.back = c.backBuf
	c.nread -= int64(len(rest))
	c.line -= bytes.Count(rest, []byte{'\n'})
	if len(rest) > 0 && rest[len(rest)-1] != '\n' {
		c.line-- // the last line, at the end of the input, has no line feed
	}
	c.raw = c.raw[:first]
	return c.broken(rec, "quoted field still open after "+strconv.Itoa(c.max)+" bytes: the lines after this one are read again")
}

// Read returns the next record, or io.EOF after the last one.
func (c *csvReader) Read(rec *record) error {
	c.raw = c.raw[:0]
	c.data = c.data[:0]
	c.ends = c.ends[:0]
	c.over = false
	start := c.nread
	if len(c.back) == 0 && c.hasCut {
		// The line cut where a broken record crossed the cap.
		c.hasCut = false
		c.line++
		c.nread += c.cutSize
		*rec = record{Line: c.line, Lines: 1, Size: c.cutSize, Raw: c.cut[:min(len(c.cut), c.max)], Err: c.tooLong()}
		return nil
	}
	c.replayed = len(c.back) > 0
	ok, err := c.readLine(c.max)
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
					more, err := c.readLine(2 * c.max)
					if err != nil {
						return err
					}
					if !more {
						// Within the cap, a broken record is one record
						// however many lines it swallowed (API.md).
						return c.broken(rec, "unterminated quoted field")
					}
					if c.over || len(c.raw) > c.max {
						if c.replayed {
							// Read once already: no second chance.
							return c.broken(rec, c.tooLong())
						}
						return c.giveBack(rec)
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
	rec.Raw = trimEOL(c.raw[:min(len(c.raw), c.max)])
	return nil
}

func (c *csvReader) tooLong() string {
	return "record longer than " + strconv.Itoa(c.max) + " bytes"
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
