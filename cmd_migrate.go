package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/schema"
)

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", `usage: catwalk migrate [flags]

Applies the embedded schema migrations the database lacks; safe to repeat and
to run concurrently. With -demo-products N, then generates and loads a demo
dataset of N products when the database holds no review: the data itself is
the "already loaded" marker, so a database recreated empty is loaded again
and a loaded one never twice (docker-compose.yml's setup job).`, stderr)
	dbURL := fs.String("database-url", "", "PostgreSQL connection string")
	demoProducts := fs.Int("demo-products", 0, "after migrating, load a generated demo dataset of this many products when the database holds no review (0: never)")
	demoDir := fs.String("demo-dir", "demo", "where -demo-products writes its CSV files")
	metricsAddr := fs.String("metrics-addr", "", "while loading the demo dataset, serve its progress at http://ADDR/metrics (as `catwalk etl -metrics-addr`)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errUsageMsg(stderr, "migrate needs -database-url or DATABASE_URL")
	}
	if *demoProducts < 0 {
		return errUsageMsg(stderr, "migrate: -demo-products must be 0 or more")
	}
	if err := migrate(ctx, *dbURL, stdout); err != nil {
		return err
	}
	if *demoProducts == 0 {
		return nil
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(768 << 20) // as `catwalk etl` does
	}
	return loadDemoIfEmpty(ctx, *dbURL, *demoDir, *demoProducts, *metricsAddr, stdout)
}

func migrate(ctx context.Context, dbURL string, stdout io.Writer) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := schema.Migrate(ctx, pool)
	for _, name := range applied {
		fmt.Fprintf(stdout, "applied %s\n", name)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema is current (version %d)\n", schema.Latest())
	}
	return nil
}
