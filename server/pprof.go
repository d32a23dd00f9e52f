package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves Go's profiles (net/http/pprof, under /debug/pprof/) on
// addr, in a net/http server of its own: never on the API's port, where
// NGINX would pass them to the world. Profiles show memory contents
// (heap samples, goroutine stacks with their arguments) and a CPU or trace
// profile costs the process while it runs, so operators bind it to
// loopback or a private network. The handlers go on a mux of their own:
// the package's init also registers them on http.DefaultServeMux, which
// nothing here serves.
//
// It refuses an addr on the API's port (apiAddr) and one it cannot listen
// on, so a mistake fails the start. stop shuts the server down.
func startPprof(addr, apiAddr string, onListen func(net.Addr), log *slog.Logger) (stop func(), err error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("pprof address %q: %w", addr, err)
	}
	if _, apiPort, err := net.SplitHostPort(apiAddr); err == nil && port != "0" && port == apiPort {
		return nil, fmt.Errorf("pprof address %q: port %s is the API's; give pprof a port of its own", addr, port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace answers after ?seconds=N.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if onListen != nil {
		onListen(ln.Addr())
	}
	log.Warn("serving pprof: keep this address private", "pprof_addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close() // a profile still being taken
		}
	}, nil
}
