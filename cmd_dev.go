package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"

	"github.com/catwalk/reviews/pglocal"
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
