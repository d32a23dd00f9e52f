package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestNotTerminal: /dev/null is a character device but not a terminal, and
// neither is a buffer; a display on either draws no live line.
func TestNotTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	st, err := null.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is not a character device: the test checks nothing", os.DevNull)
	}
	var buf bytes.Buffer
	for name, w := range map[string]interface {
		Write([]byte) (int, error)
	}{"/dev/null": null, "bytes.Buffer": &buf} {
		if IsTerminal(w) {
			t.Errorf("IsTerminal(%s) = true", name)
		}
		if d := NewDisplay(w); d.tty {
			t.Errorf("NewDisplay(%s) draws live lines", name)
		}
	}
}

// TestPlainLines: off a terminal a phase's end is one plain line, with no
// escape codes and no bar.
func TestPlainLines(t *testing.T) {
	var buf bytes.Buffer
	p := Start(&buf, "gen", 10)
	p.Add(10, 42)
	p.Done()
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\r[") {
		t.Errorf("output has a live line: %q", out)
	}
	if !strings.HasPrefix(out, "gen: done, 42 rows in ") || strings.Count(out, "\n") != 1 {
		t.Errorf("output = %q, want one line \"gen: done, 42 rows in …\"", out)
	}
}

// TestStates: what a metrics exporter sees of a running and a done phase.
func TestStates(t *testing.T) {
	d := NewDisplay(nil)
	a := d.Start("a", 400)
	a.Add(100, 7)
	b := d.Start("b", 0)
	b.SetRows(3)
	b.Done()
	got := d.States()
	want := []State{{Name: "a", Ratio: 0.25, Rows: 7}, {Name: "b", Ratio: 1, Rows: 3, Done: true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("States() = %+v, want %+v", got, want)
	}
}
