// Package server runs the HTTP service: it wires the pools, the cache, the
// handlers and the operations middleware together and owns the process's
// start and stop order.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/newrelic/go-agent/v3/integrations/nrpgx5"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/netutil"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/handlers"
	"github.com/catwalk/reviews/httpmetrics"
	"github.com/catwalk/reviews/invalidate"
	"github.com/catwalk/reviews/nrtxn"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/schema"
)

// Config is everything `catwalk serve` can be told; Defaults holds the
// values it starts with. Zero is not always that default: a zero
// DrainDelay, SlowRequest or CacheControlMaxAge turns that feature off, and
// a zero DBMaxConns leaves the write pool's size to the URL or to pgxpool.
// The other zero durations and sizes take Defaults' value (set by
// setDefaults, handlers.New and queries.Open).
type Config struct {
	DatabaseURL string
	// DatabaseReadURL, when set, is a streaming replica of DatabaseURL that
	// serves reads; writes and LISTEN stay on DatabaseURL.
	DatabaseReadURL string
	// DBMaxConns sizes the write pool when its URL has no pool_max_conns
	// (0: pgxpool's default).
	DBMaxConns int
	// DBReadPipelines bounds the read batches in flight on each pool
	// (0: queries.DefaultReadPipelines); the primary's reads get a pool of
	// that many connections of their own.
	DBReadPipelines int
	// Instances is how many instances share DatabaseURL, this one
	// included (0: 1): Run refuses to start when their connections would
	// not fit in the primary's max_connections (see connBudget).
	Instances int
	// ReplicaMaxLag: beyond this replay lag every read goes to the primary.
	ReplicaMaxLag time.Duration
	Addr          string // host:port to listen on
	MaxPageSize   int
	CacheMaxBytes int64
	CacheTTL      time.Duration
	MaxBodyBytes  int
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
	// MaxConns bounds the client connections served at once; more wait in
	// the kernel's accept queue. Each costs buffers, so it is part of the
	// memory bound (MemoryAllowance).
	MaxConns      int
	ReadTimeout   time.Duration
	WriteTimeout  time.Duration
	IdleTimeout   time.Duration
	LoaderIOToken string
	// SlowRequest: requests taking at least this long are logged (0: none).
	SlowRequest time.Duration
	// DrainDelay is how long the server keeps serving with /readyz at 503
	// before it stops accepting, so balancers take it out first (0: none).
	DrainDelay time.Duration
	// ShutdownTimeout bounds how long in-flight requests may finish.
	ShutdownTimeout time.Duration
	// WarmWait bounds how long the server waits, at start, for its pools
	// to be warm before it listens (default 10s; negative: it does not
	// wait). /readyz says 503 until they are, either way.
	WarmWait time.Duration
	// NewRelicLicenseKey turns on New Relic transactions; empty: the agent
	// never starts.
	NewRelicLicenseKey string
	NewRelicAppName    string
	// CORSOrigins is CORS_ORIGINS as given (handlers.ParseOrigins): the
	// origins whose pages may call the API from a browser; empty, none.
	CORSOrigins string
	// CacheControlMaxAge is the max-age of both GETs' Cache-Control, whole
	// seconds; 0 (also the zero Config) sends no-cache: browsers revalidate
	// every time, with If-None-Match.
	CacheControlMaxAge time.Duration
	// PprofAddr, when set, serves net/http/pprof on this address, in a
	// server of its own; never on Addr.
	PprofAddr string
	// OnPprofListen, when set, is told the address pprof listens on (tests).
	OnPprofListen func(addr net.Addr)
	// Listener, when set, is used instead of listening on Addr (tests).
	Listener net.Listener
	// OnListen, when set, is told the address the server listens on.
	OnListen func(addr net.Addr)
	Log      *slog.Logger
}

// Defaults is the one home of the defaults: the Config `catwalk serve`
// and `catwalk dev` start from before their flags (cmd_serve.go), and the
// values setDefaults gives a zero field that has a default.
func Defaults() Config {
	return Config{
		DBMaxConns:         16,
		Instances:          1,
		ReplicaMaxLag:      queries.DefaultReplicaMaxLag,
		MaxPageSize:        handlers.DefaultMaxPageSize,
		CacheMaxBytes:      256 << 20,
		CacheTTL:           5 * time.Minute,
		MaxBodyBytes:       64 << 10,
		MaxHeaderBytes:     16 << 10,
		MaxConns:           1024,
		ReadTimeout:        10 * time.Second,
		WriteTimeout:       10 * time.Second,
		IdleTimeout:        60 * time.Second,
		SlowRequest:        250 * time.Millisecond,
		DrainDelay:         5 * time.Second,
		ShutdownTimeout:    10 * time.Second,
		WarmWait:           10 * time.Second,
		NewRelicAppName:    "catwalk-reviews",
		CacheControlMaxAge: time.Second,
	}
}

func (cfg *Config) setDefaults() {
	d := Defaults()
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&cfg.ReadTimeout, d.ReadTimeout)
	def(&cfg.WriteTimeout, d.WriteTimeout)
	def(&cfg.IdleTimeout, d.IdleTimeout)
	def(&cfg.ShutdownTimeout, d.ShutdownTimeout)
	def(&cfg.CacheTTL, d.CacheTTL)
	if cfg.WarmWait == 0 {
		cfg.WarmWait = d.WarmWait
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = d.MaxBodyBytes
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if cfg.CacheMaxBytes <= 0 {
		cfg.CacheMaxBytes = d.CacheMaxBytes
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = d.MaxConns
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
}

// poolRole says what a pool serves.
type poolRole uint8

const (
	// writePool: writes, readiness checks; sized by DBMaxConns unless the
	// URL sets pool_max_conns.
	writePool poolRole = iota
	// readPool: the batched reads, one connection per pipeline whatever the
	// URL says; each connection prepares and plans the read statements.
	readPool
)

// warmTimeout bounds the warming of one new connection.
const warmTimeout = 10 * time.Second

// newPool opens a pool on url with maxConns connections for role; w, when
// set, learns of connections lost (see warmth); log hears of connections
// left cold.
// pgxpool's own default (the number of CPUs, at least 4) starves a busy
// instance: requests wait for a connection while PostgreSQL idles.
//
// traced gives each connection New Relic's pgx tracer (nrpgx5): every
// statement run with a context carrying a transaction (nrtxn.Context)
// becomes a datastore segment of it. One tracer per connection: the
// tracer keeps the connection's host and database in itself, written at
// connect, so one shared by a pool's connections would race.
func newPool(ctx context.Context, url string, maxConns int, role poolRole, w *warmth, log *slog.Logger, traced bool) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if maxConns > 0 && (role == readPool || !strings.Contains(url, "pool_max_conns")) {
		pc.MaxConns = int32(maxConns)
	}
	// Open every connection at start rather than under the first burst of
	// traffic, where each request would wait for a new backend.
	if !strings.Contains(url, "pool_min_conns") {
		pc.MinConns = pc.MaxConns
	}
	// Every request-time statement looks up one product or one review by
	// an indexed key, so the generic plan is the right one, and PostgreSQL's
	// default ("auto") re-plans the list statements on every execution: their
	// LIMIT/OFFSET parameters make the generic plan's estimate look worse
	// than a custom plan's: pgbench -M prepared on the full-scale data ran
	// the list statement about twice as fast with force_generic_plan
	// (BENCHMARKS.md, "Full scale: the read path against its yardsticks").
	// The EXPLAIN tests pin the generic plans to the partial indexes.
	if _, ok := pc.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	// Each new connection prepares and plans its role's statements before
	// it serves (reads on read connections, writes on write connections),
	// so the first requests on it do not pay for that. A connection that
	// warming left broken (PostgreSQL gone, or the deadline) is discarded
	// and the pool opens another later; one where PostgreSQL refused a
	// statement (a schema behind, which readiness reports) serves as it is.
	warm := queries.WarmWriteConn
	if role == readPool {
		warm = queries.WarmConn
	}
	pc.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		ctx, cancel := context.WithTimeout(ctx, warmTimeout)
		defer cancel()
		if err := warm(ctx, conn); err != nil {
			if conn.IsClosed() {
				return err
			}
			log.Warn("connection not warmed", "err", err)
		}
		return nil
	}
	if w != nil {
		pc.BeforeClose = w.beforeClose
	}
	if traced {
		// Parameters stay out: they hold review bodies, names and emails.
		pc.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
			cc.Tracer = nrpgx5.NewTracer(nrpgx5.WithQueryParameters(false))
			return nil
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	if w != nil {
		w.pool = pool
	}
	return pool, nil
}

// Run serves until ctx is cancelled, then shuts down in order: readiness
// off, DrainDelay, stop accepting and let in-flight requests finish within
// ShutdownTimeout, then close the pools, the cache and the agent.
func Run(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	log := cfg.Log
	corsOrigins, err := handlers.ParseOrigins(cfg.CORSOrigins)
	if err != nil {
		return err
	}
	cacheControl, err := handlers.CacheControl(cfg.CacheControlMaxAge)
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		apiAddr := cfg.Addr
		if cfg.Listener != nil {
			apiAddr = cfg.Listener.Addr().String()
		}
		stopPprof, err := startPprof(cfg.PprofAddr, apiAddr, cfg.OnPprofListen, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	memLimit := setMemoryLimit(cfg.CacheMaxBytes)

	// The agent first: the pools' connections trace their statements when
	// it runs. Deferred first, it stops after the pools have closed.
	nr, err := nrtxn.Start(cfg.NewRelicAppName, cfg.NewRelicLicenseKey)
	if err != nil {
		return err
	}
	defer nrtxn.Stop(nr, 5*time.Second)
	traced := nr != nil

	// Readiness waits for both pools of the primary to be warm (see
	// warmth); a replica's pool warms its connections too, but reads fall
	// back to the primary while it is not current, so it does not gate.
	writesWarm, readsWarm := newWarmth("primary", log), newWarmth("primary_reads", log)
	primary, err := newPool(ctx, cfg.DatabaseURL, cfg.DBMaxConns, writePool, writesWarm, log, traced)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer primary.Close()
	if err := schema.Check(ctx, primary); err != nil {
		return err
	}
	// Reads run on connections of their own, one per pipeline, so writes
	// queueing for the write pool's connections never hold them up.
	pipelines := cfg.DBReadPipelines
	if pipelines < 1 {
		pipelines = queries.DefaultReadPipelines()
	}
	if err := checkConnBudget(ctx, primary, cfg.Instances, int(primary.Config().MaxConns), pipelines); err != nil {
		return err
	}
	reads, err := newPool(ctx, cfg.DatabaseURL, pipelines, readPool, readsWarm, log, traced)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer reads.Close()
	// Deferred after the pools' Close, so it stops before they close.
	stopWarming := warmPools(writesWarm, readsWarm)
	defer stopWarming()
	storeOpt := queries.Options{Reads: reads, Pipelines: pipelines}
	if cfg.DatabaseReadURL != "" {
		// The replica serves reads only (and the freshness probe).
		rp, err := newPool(ctx, cfg.DatabaseReadURL, pipelines+1, readPool, nil, log, traced)
		if err != nil {
			return fmt.Errorf("read replica: %w", err)
		}
		defer rp.Close()
		if err := schema.Check(ctx, rp); err != nil {
			return fmt.Errorf("read replica: %w", err)
		}
		storeOpt.Replica = queries.ReplicaOptions{Pool: rp, MaxLag: cfg.ReplicaMaxLag}
		log.Info("reads go to the replica when it is current", "max_lag", cfg.ReplicaMaxLag)
	}
	store := queries.Open(primary, storeOpt)
	// Stops the replica probe (if any) before the pools close.
	defer store.Close()

	c, err := cache.New(cfg.CacheMaxBytes, cfg.CacheTTL)
	if err != nil {
		return err
	}
	defer c.Close()
	// Cache coherence across instances (package invalidate): this
	// instance's writes are marked written (read routing), evicted here and
	// announced after their commit; the other instances' announcements are
	// applied in the same order. Both dedicated connections use the primary
	// (never the replica). Deferred here, it stops after the HTTP server
	// (so every write has been announced) and before the pools close; the
	// goodbye is sent only when no request was left running.
	coherence := invalidate.New(primary.Config().ConnConfig.Copy(), c, store, log)
	stopCoherence := coherence.Start()
	cleanStop := false
	defer func() { stopCoherence(cleanStop) }()
	wctx, cancelWait := context.WithTimeout(ctx, 5*time.Second)
	if err := coherence.WaitReady(wctx); err != nil {
		log.Warn("serving before cache coherence is established: cache bypassed, /readyz 503", "err", err)
	}
	cancelWait()
	janitorCtx, stopJanitor := context.WithCancel(context.Background())
	defer stopJanitor()
	go store.RunKeyJanitor(janitorCtx, 24*time.Hour, 10*time.Minute, log.Warn)

	m := httpmetrics.New(log, cfg.SlowRequest)
	m.RegisterWriter(c.WriteMetrics)
	m.RegisterWriter(store.WriteMetrics)
	m.RegisterWriter(func(w io.Writer) { writeCoherenceMetrics(w, coherence) })
	m.RegisterWriter(func(w io.Writer) {
		for _, wm := range []*warmth{writesWarm, readsWarm} {
			warm := 0.0
			if wm.Ready() {
				warm = 1
			}
			httpmetrics.WriteGauge(w, `catwalk_db_pool_warm{pool="`+wm.name+`"}`, warm)
		}
	})

	h := handlers.New(readiness{store, []*warmth{writesWarm, readsWarm}}, c, handlers.Config{
		MaxPageSize:   cfg.MaxPageSize,
		LoaderIOToken: cfg.LoaderIOToken,
		Metrics:       m.Serve,
		Written:       coherence.Written,
		Coherent:      coherence.Err,
		CORSOrigins:   corsOrigins,
		CacheControl:  cacheControl,
	}, log)
	var draining atomic.Bool
	app := nrtxn.Wrap(nr, m.Wrap(h.Router()))
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			app(ctx)
			if draining.Load() {
				// Keep-alive peers (NGINX) reconnect elsewhere now, rather
				// than race the close of an idle connection at shutdown.
				ctx.SetConnectionClose()
			}
		},
		ErrorHandler:       h.ServerError,
		Name:               "catwalk",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		ReadBufferSize:     cfg.MaxHeaderBytes, // fasthttp's header size limit
		ReadTimeout:        cfg.ReadTimeout,
		WriteTimeout:       cfg.WriteTimeout,
		IdleTimeout:        cfg.IdleTimeout,
		CloseOnShutdown:    true,
	}

	// Listen only once warm (or after WarmWait): NGINX sends a started
	// instance traffic as soon as it accepts, and retries a refused
	// connection on another instance, so a cold one is better closed.
	waitWarm(ctx, cfg.WarmWait, log, writesWarm, readsWarm)
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
	// Connections beyond MaxConns wait to be accepted rather than be
	// refused: a burst queues, and memory stays bounded whatever clients
	// open (fasthttp's own Concurrency limit would answer them a plain-text
	// 503 instead of the API's JSON).
	ln = netutil.LimitListener(bareLFListener{ln}, cfg.MaxConns)
	log.Info("serving", "addr", ln.Addr().String(), "max_conns", cfg.MaxConns, "memory_limit", memLimit, "replica", cfg.DatabaseReadURL != "", "read_pipelines", store.ReadPipelines(), "new_relic", nr != nil)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	log.Info("draining", "drain_delay", cfg.DrainDelay, "shutdown_timeout", cfg.ShutdownTimeout)
	h.SetDraining(true)
	draining.Store(true)
	select {
	case <-time.After(cfg.DrainDelay):
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.ShutdownWithContext(sctx)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		log.Warn("shutdown timeout: closing with requests still in flight", "open_connections", srv.GetOpenConnectionsCount())
	case err != nil:
		return err
	default:
		log.Info("stopped accepting; in-flight requests finished")
		cleanStop = true
	}
	return nil
}

func writeCoherenceMetrics(w io.Writer, co *invalidate.Coherence) {
	l, a := co.Listener, co.Announcer
	httpmetrics.WriteCounter(w, "catwalk_listener_reconnects_total", l.Reconnects())
	httpmetrics.WriteCounter(w, "catwalk_listener_notifications_total", l.Notifications())
	httpmetrics.WriteCounter(w, "catwalk_listener_announcers_lost_total", l.AnnouncersLost())
	httpmetrics.WriteCounter(w, "catwalk_announce_batches_total", a.Batches())
	httpmetrics.WriteCounter(w, "catwalk_announce_products_total", a.Products())
	httpmetrics.WriteGauge(w, "catwalk_announce_pending", float64(a.Pending()))
	coherent := 0.0
	if co.Err() == nil {
		coherent = 1
	}
	httpmetrics.WriteGauge(w, "catwalk_cache_coherent", coherent)
}

// readiness is the store the handlers see: its Ready also requires warm
// pools (see warmth).
type readiness struct {
	*queries.Store
	warm []*warmth
}

// Ready: the database reachable with its schema current (one small query,
// which also notices a connection lost while idle), then every pool warm
// (no query).
func (r readiness) Ready(ctx context.Context) error {
	if err := r.Store.Ready(ctx); err != nil {
		return err
	}
	for _, w := range r.warm {
		if !w.Ready() {
			return fmt.Errorf("%s pool: %w", w.name, handlers.ErrWarmingUp)
		}
	}
	return nil
}
