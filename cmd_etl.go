package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"

	"github.com/catwalk/reviews/etl"
	"github.com/catwalk/reviews/progress"
)

func cmdETL(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("etl", `usage: catwalk etl --dir DIR [flags]

Loads reviews.csv, reviews_photos.csv, characteristics.csv and
characteristic_reviews.csv from DIR, replacing the reviews data of the
database in one transaction: an interrupted load changes nothing, and a
repeated load gives the same state. Bad rows go to the rejects directory
with their line and reason (a record is at most 64 KiB).

The load is refused, and the served data kept, when a file has no valid
row, when more than -max-reject-ratio of its lines are rejected, or when a
file keeps fewer than 90% of the rows its table serves now (unless
-allow-shrink). Reviews written through the API since the last load are
carried over, with their keys; ids are never handed out twice. The
switch-over waits at most 150 ms at a time for its locks, so it never
holds up the API behind a long query, and gives up after -switch-timeout.`, stderr)
	dbURL := fs.String("database-url", "", "PostgreSQL connection string")
	dir := fs.String("dir", "", "directory holding the four CSV files")
	rejects := fs.String("rejects", "", "directory for the rejects files (default DIR/rejects)")
	maxReject := fs.Float64("max-reject-ratio", etl.DefaultMaxRejectRatio, "largest share of a file's lines that may be rejected, 0 to 1")
	allowShrink := fs.Bool("allow-shrink", false, "load files that keep fewer than 90% of the rows served now")
	switchTimeout := fs.Duration("switch-timeout", etl.DefaultSwitchTimeout, "how long the switch-over keeps trying to take the served tables before it gives up")
	metricsAddr := fs.String("metrics-addr", "", "while loading, serve its progress in the Prometheus text format at http://ADDR/metrics (e.g. :9400; empty: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *maxReject <= 0 || *maxReject > 1 {
		return errUsageMsg(stderr, "etl: -max-reject-ratio must be above 0 and at most 1")
	}
	if *switchTimeout <= 0 {
		return errUsageMsg(stderr, "etl: -switch-timeout must be positive")
	}
	if *dbURL == "" {
		return errUsageMsg(stderr, "etl needs -database-url or DATABASE_URL")
	}
	if *dir == "" {
		return errUsageMsg(stderr, "etl needs -dir DIR")
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Collect harder rather than outgrow 1 GiB: the load's tables are a
		// few hundred MB at full scale, and GOGC alone lets the heap double.
		debug.SetMemoryLimit(768 << 20)
	}
	if err := migrate(ctx, *dbURL, io.Discard); err != nil {
		return err
	}
	return load(ctx, *dbURL, etl.Options{
		Dir: *dir, RejectsDir: *rejects, Progress: stderr,
		MaxRejectRatio: *maxReject, AllowShrink: *allowShrink, SwitchTimeout: *switchTimeout,
	}, *metricsAddr, stdout)
}

// load runs the ETL; with metricsAddr, its progress is served at
// http://metricsAddr/metrics while it runs (Prometheus scrapes it: the
// compose dashboard's "ETL progress").
func load(ctx context.Context, dbURL string, opt etl.Options, metricsAddr string, stdout io.Writer) error {
	if metricsAddr != "" {
		opt.Display = progress.NewDisplay(opt.Progress)
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		defer etl.ServeMetrics(ln, opt.Display)()
	}
	sum, err := etl.Load(ctx, dbURL, opt)
	if err != nil {
		return err
	}
	sum.WriteTable(stdout)
	return nil
}
