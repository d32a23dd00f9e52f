package etl

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzCSVReader reads arbitrary bytes with a small record cap (and a small
// read buffer, both drawn from max) and checks
// what must hold for any input: no panic and no error but EOF; every input
// byte and line belongs to exactly one record, accepted or rejected, in
// order; no record (nor the reader's buffers) outgrows the cap; a rejected
// record's raw bytes are the input's (cut at the cap); an accepted record's
// raw bytes are exactly its input and parse again, alone, to the same
// fields; and fields written back as CSV read back the same.
//
// The seeds in testdata/fuzz/FuzzCSVReader run with every plain go test;
// go test ./etl -run '^$' -fuzz FuzzCSVReader -fuzztime 1m explores more.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n", "\"a,b\",\"say \"\"hi\"\"\",c\r\n", "\"two\nlines\",x\ny,z",
		"1,\"open\n2,3\n4,5\n6,6\nsome text\n\"x\n7,8\n", "\"" + strings.Repeat("1,2,3\n", 40),
		"1,a\"b,2\n3,4\n", "1,\"a \"b\" c\",2\n", "\r\n\r\n", "1,\"x\r\ny\"\r\n",
	} {
		f.Add([]byte(s), uint16(24))
	}
	f.Fuzz(func(t *testing.T, in []byte, max uint16) {
		limit := 8 + int(max)%512
		r := newCSVReaderSize(bytes.NewReader(in), 16+int(max>>9)%64)
		r.max = limit
		var (
			off   int64
			line  = 1
			count int
		)
		for {
			var rec record
			err := r.Read(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("record at byte %d: %v", off, err)
			}
			if count++; count > len(in) {
				t.Fatalf("%d records from %d bytes", count, len(in))
			}
			if rec.Line != line || rec.Lines < 1 || rec.Size < 1 {
				t.Fatalf("record at line %d took lines %d+%d, %d bytes", line, rec.Line, rec.Lines, rec.Size)
			}
			if off+rec.Size > int64(len(in)) {
				t.Fatalf("record at byte %d takes %d bytes, past the input's %d", off, rec.Size, len(in))
			}
			own := in[off : off+rec.Size]
			if n := bytes.Count(own, []byte{'\n'}); n != rec.Lines && !(n == rec.Lines-1 && own[len(own)-1] != '\n') {
				t.Fatalf("record at line %d: %d lines, its bytes %q hold %d line feeds", line, rec.Lines, own, n)
			}
			if len(rec.Raw) > limit || len(r.raw) > 2*limit || len(r.data) > 2*limit || len(r.back) > 2*limit {
				t.Fatalf("record of %d bytes (buffers %d, %d) past the cap %d", len(rec.Raw), len(r.raw), len(r.data), limit)
			}
			if !bytes.HasPrefix(own, rec.Raw) {
				t.Fatalf("record's raw bytes %q are not its input %q", rec.Raw, own)
			}
			if rec.Err == "" {
				checkAccepted(t, rec, own, limit)
			} else if !strings.HasPrefix(rec.Err, "record longer than") && !bytes.Equal(rec.Raw, trimEOL(own)) {
				t.Fatalf("rejected record %q (%s) is not its input %q", rec.Raw, rec.Err, own)
			}
			off += rec.Size
			line += rec.Lines
		}
		if off != int64(len(in)) {
			t.Fatalf("records account for %d bytes of %d", off, len(in))
		}
	})
}

func checkAccepted(t *testing.T, rec record, own []byte, limit int) {
	t.Helper()
	if !bytes.Equal(rec.Raw, trimEOL(own)) {
		t.Fatalf("accepted record %q is not its input %q", rec.Raw, own)
	}
	fields := make([]string, len(rec.Fields))
	total := 0
	for i, f := range rec.Fields {
		fields[i] = string(f)
		total += len(f)
	}
	if total > len(rec.Raw) {
		t.Fatalf("fields of %d bytes from a record of %d", total, len(rec.Raw))
	}
	// Alone, the record reads the same.
	again := readOne(t, own, limit)
	if again.Err != "" || strings.Join(again.fields, "\x00") != strings.Join(fields, "\x00") || len(again.fields) != len(fields) {
		t.Fatalf("record %q read alone: %q (%s), want %q", own, again.fields, again.Err, fields)
	}
	// Written back as CSV, every field quoted, it reads the same.
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
	}
	b.WriteByte('\n')
	if b.Len() > limit {
		return // may be longer than the cap once quoted
	}
	back := readOne(t, b.Bytes(), limit)
	if back.Err != "" || strings.Join(back.fields, "\x00") != strings.Join(fields, "\x00") || len(back.fields) != len(fields) {
		t.Fatalf("fields %q written as %q read back as %q (%s)", fields, b.Bytes(), back.fields, back.Err)
	}
}

type oneRecord struct {
	fields []string
	Err    string
}

// readOne reads in, which must be one record.
func readOne(t *testing.T, in []byte, limit int) oneRecord {
	t.Helper()
	r := newCSVReaderSize(bytes.NewReader(in), 16)
	r.max = limit
	var rec record
	if err := r.Read(&rec); err != nil {
		t.Fatalf("read %q: %v", in, err)
	}
	out := oneRecord{Err: rec.Err}
	for _, f := range rec.Fields {
		out.fields = append(out.fields, string(f))
	}
	if rec.Size != int64(len(in)) {
		t.Fatalf("%q read as one record took %d bytes", in, rec.Size)
	}
	return out
}
