package envflag

import (
	"flag"
	"io"
	"testing"
)

func TestParse(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://env")
	t.Setenv("PORT", "4000")
	t.Setenv("MAX_PAGE_SIZE", "")
	f := func(args []string, wantURL string, wantPort, wantPage int) {
		t.Helper()
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		url := fs.String("database-url", "", "")
		port := fs.Int("port", 3000, "")
		page := fs.Int("max-page-size", 10, "")
		if err := Parse(fs, args); err != nil {
			t.Fatal(err)
		}
		if *url != wantURL || *port != wantPort || *page != wantPage {
			t.Errorf("Parse(%q) = %q %d %d, want %q %d %d", args, *url, *port, *page, wantURL, wantPort, wantPage)
		}
	}
	f(nil, "postgres://env", 4000, 10)
	f([]string{"-port", "5000"}, "postgres://env", 5000, 10)
	f([]string{"-database-url", "postgres://flag"}, "postgres://flag", 4000, 10)
}

func TestParseBadEnv(t *testing.T) {
	t.Setenv("PORT", "eighty")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("port", 3000, "")
	if err := Parse(fs, nil); err == nil {
		t.Fatal("PORT=eighty accepted")
	}
}

func TestEnvName(t *testing.T) {
	if got := envName("cache-max-bytes"); got != "CACHE_MAX_BYTES" {
		t.Fatalf("envName = %q", got)
	}
}
