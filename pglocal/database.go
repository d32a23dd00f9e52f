package pglocal

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// EnsureDatabase creates database name on the cluster if it is missing, so
// `catwalk dev` and scripts/localdb share one way to get a database on a
// cluster that Start may have just initialised (initdb creates only
// postgres). The name goes through pgx.Identifier: CREATE DATABASE takes no
// parameters.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}
