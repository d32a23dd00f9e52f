package main

import (
	"context"
	"flag"
	"io"
	"net"
	"strconv"

	"github.com/catwalk/reviews/server"
)

// serveFlags registers the flags `serve` and `dev` share.
func serveFlags(fs *flag.FlagSet) (cfg *server.Config, port *int) {
	d := server.Defaults()
	cfg = &server.Config{}
	port = fs.Int("port", 3000, "TCP port to listen on")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL connection string (pgx syntax; pool_max_conns=… allowed)")
	fs.IntVar(&cfg.DBMaxConns, "db-max-conns", d.DBMaxConns, "connections of the pool for writes, unless the URL sets pool_max_conns (reads have -db-read-pipelines connections of their own)")
	fs.IntVar(&cfg.DBReadPipelines, "db-read-pipelines", 0, "read batches in flight at once, each on a connection of its own (0: the CPUs, at least 2)")
	fs.IntVar(&cfg.Instances, "instances", d.Instances, "instances sharing the database, this one included: serve refuses to start when their connections (each: -db-max-conns + -db-read-pipelines + 2) exceed its max_connections less the reserved ones")
	fs.IntVar(&cfg.MaxPageSize, "max-page-size", d.MaxPageSize, "most reviews one GET /reviews page returns")
	fs.Int64Var(&cfg.CacheMaxBytes, "cache-max-bytes", d.CacheMaxBytes, "bytes of response bodies the in-process cache may hold")
	fs.DurationVar(&cfg.CacheTTL, "cache-ttl", d.CacheTTL, "longest a cached response is kept (a backstop: writes evict at once)")
	fs.IntVar(&cfg.MaxBodyBytes, "max-body-bytes", d.MaxBodyBytes, "largest accepted request body")
	fs.StringVar(&cfg.LoaderIOToken, "loaderio-token", "", "loader.io verification token to serve at /<token>/ and /<token>.txt")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "how long in-flight requests may finish on SIGTERM")
	fs.DurationVar(&cfg.DrainDelay, "drain-delay", d.DrainDelay, "on SIGTERM, how long to keep serving with /readyz at 503 before refusing connections")
	fs.StringVar(&cfg.DatabaseReadURL, "database-read-url", "", "optional streaming replica of the database that serves reads; writes and LISTEN stay on -database-url")
	fs.DurationVar(&cfg.ReplicaMaxLag, "replica-max-lag", d.ReplicaMaxLag, "when the replica trails the primary by more than this, reads go to the primary")
	fs.IntVar(&cfg.MaxConns, "max-conns", d.MaxConns, "client connections served at once (more wait to be accepted); part of the memory bound")
	fs.IntVar(&cfg.MaxHeaderBytes, "max-header-bytes", d.MaxHeaderBytes, "largest request line plus headers")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", d.ReadTimeout, "longest time to read one request, headers and body")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", d.WriteTimeout, "longest time to write one response")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", d.IdleTimeout, "how long an idle keep-alive connection stays open (keep above NGINX's upstream keepalive_timeout)")
	fs.DurationVar(&cfg.SlowRequest, "slow-request", d.SlowRequest, "requests taking at least this long are logged (0: never)")
	fs.StringVar(&cfg.NewRelicLicenseKey, "new-relic-license-key", "", "New Relic license key; when set each request is reported as a transaction")
	fs.StringVar(&cfg.NewRelicAppName, "new-relic-app-name", d.NewRelicAppName, "application name reported to New Relic")
	fs.StringVar(&cfg.CORSOrigins, "cors-origins", "", `origins whose pages may call the API from a browser, comma-separated (https://shop.example), or "*" for any; empty: no CORS`)
	fs.DurationVar(&cfg.CacheControlMaxAge, "cache-control-max-age", d.CacheControlMaxAge, "max-age of the GETs' Cache-Control, whole seconds (0: no-cache, browsers revalidate every time)")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060), never the API port; empty: off. Keep it private")
	return cfg, port
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "usage: catwalk serve [flags]\n\nServes the REST API on a migrated database; refuses to start when the schema is behind.", stderr)
	cfg, port := serveFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		fs.Usage()
		return errUsageMsg(stderr, "serve needs -database-url or DATABASE_URL (or use `catwalk dev`)")
	}
	cfg.Addr = net.JoinHostPort("", strconv.Itoa(*port))
	cfg.Log = newLogger(stderr)
	return server.Run(ctx, *cfg)
}

func errUsageMsg(w io.Writer, msg string) error {
	io.WriteString(w, msg+"\n")
	return errUsage
}
