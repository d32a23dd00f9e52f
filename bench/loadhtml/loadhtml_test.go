package loadhtml

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func render(t *testing.T, path string) *html.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report.html")
	if err := WriteFile(out, s); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("the page does not parse as HTML: %v", err)
	}
	return doc
}

// find returns the elements of n named tag, in document order.
func find(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && c.Data == tag {
			out = append(out, c)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

func byID(n *html.Node, id string) *html.Node {
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && attr(c, "id") == id {
			return c
		}
	}
	return nil
}

// The page of a bench/load run: self-contained (nothing loaded from
// anywhere), its verdict, thresholds and operations, and the latency over
// time of every operation drawn as inline SVG.
func TestRenderBenchLoadSuccess(t *testing.T) {
	doc := render(t, "testdata/bench-load.json")
	for _, tag := range []string{"script", "link", "img", "iframe"} {
		if n := find(doc, tag); len(n) > 0 {
			t.Fatalf("the page has <%s>: it must load nothing", tag)
		}
	}
	for c := range doc.Descendants() {
		for _, a := range c.Attr {
			if (a.Key == "href" || a.Key == "src") && !strings.HasPrefix(a.Val, "#") {
				t.Fatalf("<%s %s=%q> reaches out of the page", c.Data, a.Key, a.Val)
			}
		}
	}
	if h1 := find(doc, "h1"); len(h1) != 1 || !strings.Contains(text(h1[0]), "mixed") || !strings.Contains(text(h1[0]), "a threshold failed") {
		t.Fatalf("heading %q", text(h1[0]))
	}
	th := byID(doc, "thresholds")
	if th == nil {
		t.Fatal("no thresholds section")
	}
	rows := find(th, "tr")
	if len(rows) != 4 || !strings.Contains(text(rows[2]), "FAIL") || attr(rows[2], "class") != "fail" || !strings.Contains(text(rows[2]), "http_req_duration{op:post}") {
		t.Fatalf("threshold rows: %d, second %q", len(rows), text(rows[2]))
	}
	ops := byID(doc, "operations")
	rows = find(ops, "tr")
	if len(rows) != 6 {
		t.Fatalf("%d rows in the operations table, want a header and five operations", len(rows))
	}
	for i, op := range []string{"list", "meta", "post", "helpful", "report"} {
		if got := text(find(rows[i+1], "td")[0]); got != op {
			t.Fatalf("row %d is %q, want %q", i+1, got, op)
		}
	}
	over := byID(doc, "latency-over-time")
	if over == nil {
		t.Fatal("no latency-over-time figure")
	}
	svgs := find(over, "svg")
	if len(svgs) != 1 {
		t.Fatalf("latency over time: %d <svg>, want 1 inline", len(svgs))
	}
	legend := text(svgs[0])
	for _, op := range []string{"list", "meta", "post", "helpful", "report"} {
		if !strings.Contains(legend, op+" p99") {
			t.Fatalf("the latency-over-time plot does not name %q:\n%s", op+" p99", legend)
		}
	}
	if !strings.Contains(legend, "seconds since start") {
		t.Fatal("the latency-over-time plot has no time axis")
	}
	if n := len(find(over, "path")) + len(find(over, "polyline")); n < 10 {
		t.Fatalf("the latency-over-time plot draws %d paths, want a line per operation and percentile", n)
	}
	if byID(doc, "throughput") == nil || byID(doc, "by-op") == nil {
		t.Fatal("the throughput or per-operation figure is missing")
	}
}

// A k6 summary has no timeline: the page says so instead of plotting.
func TestRenderK6Success(t *testing.T) {
	b, err := os.ReadFile("testdata/bench-load.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	s.Tool, s.Timeline = "k6", nil
	var buf bytes.Buffer
	if err := Render(&buf, s); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if byID(doc, "latency-over-time") != nil || !strings.Contains(text(byID(doc, "over-time")), "K6_WEB_DASHBOARD_EXPORT") {
		t.Fatal("a k6 summary must point to the dashboard export, not plot an empty timeline")
	}
	if len(find(byID(doc, "by-op"), "svg")) != 1 {
		t.Fatal("the per-operation plot is missing")
	}
}

func TestParseFailure(t *testing.T) {
	for _, in := range []string{`{`, `{"tool":"k6"}`, `[]`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Fatalf("Parse(%s) accepted", in)
		}
	}
}
