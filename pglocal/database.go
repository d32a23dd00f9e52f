package pglocal

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/schema"
)

// EnsureDatabase creates database name on the cluster if it is missing, so
// `catwalk dev` and scripts/localdb share one way to get a database on a
// cluster that Start may have just initialised (initdb creates only
// postgres). The name is quoted (schema.CreateDatabase): CREATE DATABASE
// takes no parameters.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, schema.DatabaseExists, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, schema.CreateDatabase(name))
	return err
}
