package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/etl"
	"github.com/catwalk/reviews/gen"
	"github.com/catwalk/reviews/pglocal"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/server"
)

const devDatabase = "catwalk"

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", `usage: catwalk dev [flags]

Runs the service for development with no setup: when DATABASE_URL is unset it
starts (or reuses) a PostgreSQL cluster under -data-dir, migrates it, loads a
small generated demo dataset when the database is empty, and serves on -port.
Ctrl-C or SIGTERM stops the server and the cluster it started.`, stderr)
	cfg, port := serveFlags(fs)
	// No balancer drains a development server: Ctrl-C stops it at once.
	if f := fs.Lookup("drain-delay"); f != nil {
		f.Value.Set("0s")
		f.DefValue = "0s"
	}
	dataDir := fs.String("data-dir", ".data", "directory of the local cluster and demo files")
	demoProducts := fs.Int("demo-products", 10000, "products in the demo dataset loaded into an empty database (0: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(stderr)

	if cfg.DatabaseURL == "" {
		cluster, err := pglocal.Start(ctx, filepath.Join(*dataDir, "pg"), pglocal.Options{Durable: true})
		if err != nil {
			return err
		}
		defer func() {
			started := cluster.Started
			if err := cluster.Stop(); err != nil {
				log.Error("stopping local PostgreSQL", "err", err)
			} else if started {
				log.Info("local PostgreSQL stopped")
			}
		}()
		if cluster.Started {
			log.Info("local PostgreSQL started", "data_dir", cluster.DataDir, "port", cluster.Port)
		} else {
			log.Info("reusing running local PostgreSQL", "data_dir", cluster.DataDir, "port", cluster.Port)
		}
		if err := cluster.EnsureDatabase(ctx, devDatabase); err != nil {
			return err
		}
		cfg.DatabaseURL = cluster.URL(devDatabase)
		fmt.Fprintf(stdout, "DATABASE_URL=%s\n", cfg.DatabaseURL)
	}
	if err := migrate(ctx, cfg.DatabaseURL, stdout); err != nil {
		return err
	}
	if *demoProducts > 0 {
		if err := loadDemoIfEmpty(ctx, cfg.DatabaseURL, filepath.Join(*dataDir, "demo"), *demoProducts, "", stdout); err != nil {
			return err
		}
	}
	cfg.Addr = net.JoinHostPort("", strconv.Itoa(*port))
	cfg.Log = log
	return server.Run(ctx, *cfg)
}

// loadDemoIfEmpty generates and loads a demo dataset of products products
// into the database at dbURL when it holds no reviews (`catwalk dev`, and
// `catwalk migrate -demo-products` for docker-compose.yml's setup job).
func loadDemoIfEmpty(ctx context.Context, dbURL, dir string, products int, metricsAddr string, stdout io.Writer) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	hasReviews, err := queries.HasReviews(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		return err
	}
	if hasReviews {
		fmt.Fprintln(stdout, "the database holds reviews: no demo dataset loaded")
		return nil
	}
	fmt.Fprintf(stdout, "generating a demo dataset of %d products in %s\n", products, dir)
	if _, err := gen.Generate(gen.Options{Dir: dir, Products: products, Seed: 1}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loading the demo dataset from %s\n", dir)
	return load(ctx, dbURL, etl.Options{Dir: dir}, metricsAddr, stdout)
}
