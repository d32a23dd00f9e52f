// Package queries owns every SQL statement the service runs at request time
// and the Go types their rows become.
package queries

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/schema"
)

// Store runs the service's statements on a pool.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool is the pool the store runs on.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// reader returns the pool that serves reads of product. Today the primary;
// read replicas plug in here.
func (s *Store) reader(product int32) *pgxpool.Pool { return s.pool }

// Ready reports whether the database answers and its schema is current.
func (s *Store) Ready(ctx context.Context) error {
	return schema.Check(ctx, s.pool)
}
