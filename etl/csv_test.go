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
