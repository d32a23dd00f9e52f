package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/schema"
)

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "usage: catwalk migrate [flags]\n\nApplies the embedded schema migrations the database lacks; safe to repeat and to run concurrently.", stderr)
	dbURL := fs.String("database-url", "", "PostgreSQL connection string")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errUsageMsg(stderr, "migrate needs -database-url or DATABASE_URL")
	}
	return migrate(ctx, *dbURL, stdout)
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
