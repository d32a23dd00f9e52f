package etl

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// readAll reads every record of in as "line:field|field" or "line!reason".
func readAll(t *testing.T, in string) []string {
	t.Helper()
	r := newCSVReader(strings.NewReader(in))
	var out []string
	for {
		var rec record
		err := r.Read(&rec)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Err != "" {
			out = append(out, strconv.Itoa(rec.Line)+"!"+rec.Err+"!"+string(rec.Raw))
			continue
		}
		fields := make([]string, len(rec.Fields))
		for i, f := range rec.Fields {
			fields[i] = string(f)
		}
		out = append(out, strconv.Itoa(rec.Line)+":"+strings.Join(fields, "|"))
	}
}

func TestCSVReaderSuccess(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		got := readAll(t, in)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("read %q:\ngot  %q\nwant %q", in, got, want)
		}
	}
	f("a,b,c\n", "1:a|b|c")
	f("a,b,c", "1:a|b|c")
	f("a,b\r\nc,d\r\n", "1:a|b", "2:c|d")
	f(`"a,b","say ""hi""",c`+"\n", `1:a,b|say "hi"|c`)
	f("\"two\nlines\",x\ny,z\n", "1:two\nlines|x", "3:y|z")
	f("\"crlf\r\ninside\",x\n", "1:crlf\r\ninside|x")
	f(",,\n", "1:||")
	f("\n", "1:")
	f(`"",""`+"\n", "1:|")
	f("a\r\n\"\"\r\n", "1:a", "2:")
}

func TestCSVReaderFailure(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		got := readAll(t, in)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("read %q:\ngot  %q\nwant %q", in, got, want)
		}
	}
	// A quote inside a quoted field that is not doubled: the record ends
	// with its line, the next line is read normally.
	f("1,\"a \"b\" c\",2\n3,4\n", `1!extraneous " after a quoted field!1,"a "b" c",2`, "2:3|4")
	f("1,a\"b,2\n3,4\n", `1!bare " in an unquoted field!1,a"b,2`, "2:3|4")
	// An unclosed quote swallows lines up to the next quote: one record.
	f("1,\"open,2\n3,4\n5,\"x\"y,6\n7,8\n", "1!extraneous \" after a quoted field!1,\"open,2\n3,4\n5,\"x\"y,6", "4:7|8")
	f("1,\"never closed\n2,3\n", "1!unterminated quoted field!1,\"never closed\n2,3")
}

// TestCSVReaderCap: a record never grows past the cap. One that would (a
// quote never closed, a line without end) is rejected with its first bytes,
// and reading resumes at the next line that starts like a record.
func TestCSVReaderCap(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		r := newCSVReader(strings.NewReader(in))
		r.max = 16
		var got []string
		for {
			var rec record
			err := r.Read(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			s := strconv.Itoa(rec.Line) + "+" + strconv.Itoa(rec.Lines)
			if rec.Err != "" {
				got = append(got, s+"!"+rec.Err+"!"+string(rec.Raw))
				continue
			}
			fields := make([]string, len(rec.Fields))
			for i, f := range rec.Fields {
				fields[i] = string(f)
			}
			got = append(got, s+":"+strings.Join(fields, "|"))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("read %q:\ngot  %q\nwant %q", in, got, want)
		}
	}
	const long = "record longer than 16 bytes"
	// The open quote swallows lines up to the cap (the line 6,6 crosses
	// it), then the lines that do not start with an id and a comma; 7,8
	// is read again.
	f("1,\"open\n2,3\n4,5\n6,6\nsome text\n\"x\n7,8\n",
		"1+6!"+long+"!1,\"open\n2,3\n4,5", "7+1:7|8")
	// Within the cap, the record closes as before.
	f("1,\"a\nb\",c\n2,3\n", "1+2:1|a\nb|c", "3+1:2|3")
	// A line longer than the cap is one record, kept up to the cap.
	f("1,aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n2,3\n", "1+1!"+long+"!1,aaaaaaaaaaaaaa", "2+1:2|3")
	f("1,aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1+1!"+long+"!1,aaaaaaaaaaaaaa")
	// An open quote to the end of the input, past the cap.
	f("1,\"aaaaaaaaaa\nbbbbbbbbbbbbbbbbb\n", "1+2!"+long+"!1,\"aaaaaaaaaa\nbb")
}

// TestCSVReaderBoundedMemory reads 32 MiB that open a quote on the first
// byte and never close it: the reader holds no more than its cap.
func TestCSVReaderBoundedMemory(t *testing.T) {
	in := io.MultiReader(strings.NewReader("\""), strings.NewReader(strings.Repeat("x,1,2,3\n", 4<<20)))
	r := newCSVReader(in)
	var rec record
	if err := r.Read(&rec); err != nil {
		t.Fatal(err)
	}
	if rec.Err == "" || len(rec.Raw) > MaxRecordBytes {
		t.Fatalf("record of %d bytes, err %q: want one rejected record of at most %d bytes", len(rec.Raw), rec.Err, MaxRecordBytes)
	}
	if c := cap(r.raw) + cap(r.data); c > 4*MaxRecordBytes {
		t.Errorf("reader buffers hold %d bytes, want at most %d", c, 4*MaxRecordBytes)
	}
	if rec.Size != 1+32<<20 || rec.Lines != 4<<20 {
		t.Errorf("record took %d bytes in %d lines, want all %d in %d", rec.Size, rec.Lines, 1+32<<20, 4<<20)
	}
	if err := r.Read(&rec); !errors.Is(err, io.EOF) {
		t.Errorf("after the broken record: %v, want EOF", err)
	}
}
