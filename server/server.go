// Package server runs the HTTP service: it wires the pool, the cache and the
// handlers together and owns the process's start and stop order.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/handlers"
	"github.com/catwalk/reviews/invalidate"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/schema"
)

// Config is everything `catwalk serve` can be told.
type Config struct {
	DatabaseURL   string
	Addr          string // host:port to listen on
	MaxPageSize   int
	CacheMaxBytes int64
	CacheTTL      time.Duration
	MaxBodyBytes  int
	LoaderIOToken string
	// ShutdownTimeout bounds how long in-flight requests may finish.
	ShutdownTimeout time.Duration
	// Listener, when set, is used instead of listening on Addr (tests).
	Listener net.Listener
	// OnListen, when set, is told the address the server listens on.
	OnListen func(addr net.Addr)
	Log      *slog.Logger
}

// Run serves until ctx is cancelled, then shuts down in order.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	if err := schema.Check(ctx, pool); err != nil {
		return err
	}
	c, err := cache.New(cfg.CacheMaxBytes, cfg.CacheTTL)
	if err != nil {
		return err
	}
	defer c.Close()
	// Writes on any instance evict this instance's cache (LISTEN/NOTIFY).
	stopListener := invalidate.New(pool.Config().ConnConfig.Copy(), c, log).Start()
	defer stopListener()
	store := queries.New(pool)
	janitorCtx, stopJanitor := context.WithCancel(context.Background())
	defer stopJanitor()
	go store.RunKeyJanitor(janitorCtx, 24*time.Hour, 10*time.Minute, log.Warn)

	h := handlers.New(store, c, handlers.Config{
		MaxPageSize:   cfg.MaxPageSize,
		LoaderIOToken: cfg.LoaderIOToken,
	}, log)
	srv := &fasthttp.Server{
		Handler:            h.Router(),
		ErrorHandler:       handlers.ServerError,
		Name:               "catwalk",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		ReadTimeout:        10 * time.Second,
		WriteTimeout:       10 * time.Second,
		IdleTimeout:        60 * time.Second,
		ReadBufferSize:     8192,
	}

	ln := cfg.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", cfg.Addr)
		if err != nil {
			return err
		}
	}
	if cfg.OnListen != nil {
		cfg.OnListen(ln.Addr())
	}
	log.Info("serving", "addr", ln.Addr().String())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	h.SetDraining(true)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.ShutdownWithContext(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
