// Command localdb starts or stops the persistent local PostgreSQL cluster
// under ./.data/pg that `catwalk dev` also uses, for scripts that run
// several `catwalk serve` processes against one database
// (scripts/cluster.sh).
//
//	go run ./scripts/localdb start   # prints DATABASE_URL=… and STARTED=0|1
//	go run ./scripts/localdb stop
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/pglocal"
)

func main() {
	dataDir := flag.String("data-dir", ".data", "directory holding the cluster (in pg/)")
	db := flag.String("db", "catwalk", "database to create when missing")
	flag.Parse()
	if flag.NArg() != 1 || (flag.Arg(0) != "start" && flag.Arg(0) != "stop") {
		fmt.Fprintln(os.Stderr, "usage: localdb [-data-dir DIR] start|stop")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, flag.Arg(0), filepath.Join(*dataDir, "pg"), *db); err != nil {
		fmt.Fprintln(os.Stderr, "localdb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd, dir, db string) error {
	c, err := pglocal.Start(ctx, dir, pglocal.Options{Durable: true})
	if err != nil {
		return err
	}
	if cmd == "stop" {
		// Start reused the running server; stop it for good.
		c.Started = true
		return c.Stop()
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
			return err
		}
	}
	started := 0
	if c.Started {
		started = 1
	}
	fmt.Printf("DATABASE_URL=%s\nSTARTED=%d\n", c.URL(db), started)
	return nil
}
