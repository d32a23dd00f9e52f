package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPprofAndBrowserSettings: PprofAddr serves the profiles on an address
// of its own and never on the API's; CORSOrigins and CacheControlMaxAge
// reach the handlers.
func TestPprofAndBrowserSettings(t *testing.T) {
	pprofAddr := make(chan net.Addr, 1)
	base, _, _, _, logs := startServer(t, Config{
		PprofAddr:          "127.0.0.1:0",
		OnPprofListen:      func(a net.Addr) { pprofAddr <- a },
		CORSOrigins:        "https://shop.example",
		CacheControlMaxAge: 2 * time.Second,
	})
	waitReady(t, base)
	pp := "http://" + (<-pprofAddr).String()
	if status, _, body := get(t, pp+"/debug/pprof/"); status != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index: %d %.200s", status, body)
	}
	if status, _, _ := get(t, pp+"/debug/pprof/heap?debug=1"); status != 200 {
		t.Errorf("pprof heap: %d", status)
	}
	if status, _, _ := get(t, pp+"/reviews/meta?product_id=1"); status != 404 {
		t.Errorf("the API on the pprof address: %d, want 404", status)
	}
	if status, _, body := get(t, base+"/debug/pprof/"); status != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("pprof on the API port: %d %s, want the API's 404", status, body)
	}
	if !strings.Contains(logs.String(), "serving pprof") {
		t.Errorf("no log line names the pprof address:\n%s", logs.String())
	}

	req, _ := http.NewRequest("GET", base+"/reviews/meta?product_id=1", nil)
	req.Header.Set("Origin", "https://shop.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		resp.Header.Get("Cache-Control") != "public, max-age=2" || resp.Header.Get("ETag") == "" {
		t.Errorf("GET with Origin: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestPprofOffByDefault: without PprofAddr nothing but the API listens:
// the start-up log never mentions pprof.
func TestPprofOffByDefault(t *testing.T) {
	base, _, _, _, logs := startServer(t, Config{})
	waitReady(t, base)
	if strings.Contains(logs.String(), "pprof") {
		t.Errorf("pprof mentioned without PprofAddr:\n%s", logs.String())
	}
}

// TestBrowserAndPprofSettingsFailure: a malformed setting, or pprof on the
// API's port, stops Run before it touches the database.
func TestBrowserAndPprofSettingsFailure(t *testing.T) {
	f := func(cfg Config, want string) {
		t.Helper()
		cfg.DatabaseURL = "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"
		if cfg.Addr == "" {
			cfg.Addr = "127.0.0.1:0"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%+v) = %v, want an error containing %q", cfg, err, want)
		}
	}
	f(Config{CORSOrigins: "https://shop.example/"}, "no trailing slash")
	f(Config{CacheControlMaxAge: 1500 * time.Millisecond}, "whole seconds")
	f(Config{Addr: ":3456", PprofAddr: "127.0.0.1:3456"}, "port 3456 is the API's")
	f(Config{PprofAddr: "6060"}, "pprof address")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f(Config{Listener: ln, PprofAddr: ln.Addr().String()}, "is the API's")
}
