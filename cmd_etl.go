package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/etl"
	"github.com/catwalk/reviews/gen"
)

func cmdETL(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("etl", `usage: catwalk etl --dir DIR [flags]

Loads reviews.csv, reviews_photos.csv, characteristics.csv and
characteristic_reviews.csv from DIR, replacing the reviews data of the
database in one transaction: an interrupted load changes nothing, and a
repeated load gives the same state. Bad rows go to the rejects directory
with their line and reason.`, stderr)
	dbURL := fs.String("database-url", "", "PostgreSQL connection string")
	dir := fs.String("dir", "", "directory holding the four CSV files")
	rejects := fs.String("rejects", "", "directory for the rejects files (default DIR/rejects)")
	if err := parseFlags(fs, args); err != nil {
		return err
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
	return load(ctx, *dbURL, etl.Options{Dir: *dir, RejectsDir: *rejects, Progress: stderr}, stdout)
}

func load(ctx context.Context, dbURL string, opt etl.Options, stdout io.Writer) error {
	sum, err := etl.Load(ctx, dbURL, opt)
	if err != nil {
		return err
	}
	sum.WriteTable(stdout)
	return nil
}

// loadDemoIfEmpty generates and loads a demo dataset of products products
// into the database at dbURL when it holds no reviews.
func loadDemoIfEmpty(ctx context.Context, dbURL, dir string, products int, stdout io.Writer) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	var any bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM reviews)").Scan(&any)
	conn.Close(ctx)
	if err != nil || any {
		return err
	}
	fmt.Fprintf(stdout, "generating a demo dataset of %d products in %s\n", products, dir)
	if _, err := gen.Generate(gen.Options{Dir: dir, Products: products, Seed: 1}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loading the demo dataset from %s\n", dir)
	return load(ctx, dbURL, etl.Options{Dir: dir}, stdout)
}
