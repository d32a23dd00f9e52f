// Command localdb starts or stops the persistent local PostgreSQL cluster
// under ./.data/pg that `catwalk dev` also uses, for scripts that run
// several `catwalk serve` processes against one database
// (scripts/cluster.sh).
//
//	go run ./scripts/localdb start   # prints DATABASE_URL=… and STARTED=0|1
//	go run ./scripts/localdb stop
//
// bench/cluster.sh uses it for a long-lived, loaded benchmark cluster of
// its own: -dir puts it elsewhere, -port fixes its port (so its URL stays
// the same across restarts) and -set passes server settings such as
// shared_buffers=2GB (they apply when this command starts the server).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/catwalk/reviews/pglocal"
)

func main() {
	dataDir := flag.String("data-dir", ".data", "directory holding the cluster (in pg/)")
	dir := flag.String("dir", "", "the cluster's own directory (default: DATA-DIR/pg)")
	db := flag.String("db", "catwalk", "database to create when missing")
	port := flag.Int("port", 0, "loopback port when starting the server (0: a free one)")
	settings := map[string]string{}
	flag.Func("set", "server setting name=value when starting the server (repeatable)", func(v string) error {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return fmt.Errorf("want name=value, got %q", v)
		}
		settings[name] = value
		return nil
	})
	flag.Parse()
	if flag.NArg() != 1 || (flag.Arg(0) != "start" && flag.Arg(0) != "stop") {
		fmt.Fprintln(os.Stderr, "usage: localdb [-data-dir DIR | -dir DIR] [-port N] [-set name=value]… start|stop")
		os.Exit(2)
	}
	if *dir == "" {
		*dir = filepath.Join(*dataDir, "pg")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opt := pglocal.Options{Durable: true, Port: *port, Settings: settings}
	if err := run(ctx, flag.Arg(0), *dir, *db, opt); err != nil {
		fmt.Fprintln(os.Stderr, "localdb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd, dir, db string, opt pglocal.Options) error {
	c, err := pglocal.Start(ctx, dir, opt)
	if err != nil {
		return err
	}
	if cmd == "stop" {
		// Start reused the running server; stop it for good.
		c.Started = true
		return c.Stop()
	}
	if err := c.EnsureDatabase(ctx, db); err != nil {
		return err
	}
	started := 0
	if c.Started {
		started = 1
	}
	fmt.Printf("DATABASE_URL=%s\nSTARTED=%d\n", c.URL(db), started)
	return nil
}
