package main

import (
	"flag"
	"io"
	"reflect"
	"testing"

	"github.com/catwalk/reviews/server"
)

// The flags' defaults are server.Defaults, not numbers of their own: a
// default changed there changes `catwalk serve` too.
func TestServeFlagDefaults(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, port := serveFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	want := server.Defaults()
	want.WarmWait = 0 // no flag: tests set it
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("flag defaults\n%+v\nwant server.Defaults\n%+v", *cfg, want)
	}
	if *port != 3000 {
		t.Errorf("-port default %d, want 3000", *port)
	}
}
