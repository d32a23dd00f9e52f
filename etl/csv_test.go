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
	f("1,\"never closed", "1!unterminated quoted field!1,\"never closed")
}

// TestCSVReaderCap: a record never grows past the cap. A line longer than
// the cap is rejected alone, with its first bytes; a quoted field still open
// past the cap is a stray quote: its record is rejected with its first line
// and the lines after it are read again.
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
	const (
		long  = "record longer than 16 bytes"
		stray = "quoted field still open after 16 bytes: the lines after this one are read again"
	)
	// A stray quote costs its own row only.
	f("\"1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n13,14\n",
		"1+1!"+stray+"!\"1,2", "2+1:3|4", "3+1:5|6", "4+1:7|8", "5+1:9|10", "6+1:11|12", "7+1:13|14")
	// Within the cap, the record closes as before.
	f("1,\"a\nb\",c\n2,3\n", "1+2:1|a\nb|c", "3+1:2|3")
	// A line longer than the cap is one record, kept up to the cap.
	f("1,aaaaaaaaaaaaaaaaaaaaaaaaaaaa\n2,3\n", "1+1!"+long+"!1,aaaaaaaaaaaaaa", "2+1:2|3")
	f("1,aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1+1!"+long+"!1,aaaaaaaaaaaaaa")
	// The line that crossed the cap was too long to keep: rejected alone,
	// after the lines before it.
	f("1,\"a\n2,3\n"+strings.Repeat("x", 40)+"\n4,5\n",
		"1+1!"+stray+"!1,\"a", "2+1:2|3", "3+1!"+long+"!"+strings.Repeat("x", 16), "4+1:4|5")
	// A record read again is not given back twice: a quote in it that
	// stays open runs to the end of what is read again.
	f("\"a\nbbbbbbbbbbbb\n\"c\nd\n1,2\n",
		"1+1!"+stray+"!\"a", "2+1:bbbbbbbbbbbb", "3+1!unterminated quoted field!\"c", "4+1:d", "5+1:1|2")
}

// TestCSVReaderBoundedMemory reads 32 MiB that open a quote on the first
// byte and never close it: the reader holds no more than twice its cap, and
// the stray quote costs one record.
func TestCSVReaderBoundedMemory(t *testing.T) {
	const lines = 4 << 20
	in := io.MultiReader(strings.NewReader("\""), strings.NewReader(strings.Repeat("1,1,2,3\n", lines)))
	r := newCSVReader(in)
	var rec record
	n, rejected, peak := 0, 0, 0
	for {
		err := r.Read(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if rec.Err != "" {
			rejected++
		}
		peak = max(peak, cap(r.raw)+cap(r.data)+cap(r.backBuf))
	}
	if n != lines || rejected != 1 {
		t.Errorf("%d records, %d rejected; want %d and 1", n, rejected, lines)
	}
	if peak > 8*MaxRecordBytes {
		t.Errorf("reader buffers held %d bytes, want at most %d", peak, 8*MaxRecordBytes)
	}
}
