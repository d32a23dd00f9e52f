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
	// reads runs the read statements on pool, batched (see readPipe).
	reads *readPipe
	// replica, when set, serves reads that are safe to serve from it.
	replica *replica
	// votes batches PUT …/helpful's votes on pool (see votePipe).
	votes *votePipe
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	s := &Store{pool: pool, reads: newReadPipe(pool, 0)}
	s.votes = newVotePipe(pool, 0, s.write)
	return s
}

// WritePool is the pool the store's writes run on, and its reads too unless
// ReadOptions.Pool or a replica says otherwise (see ReadPool, ReplicaPool).
func (s *Store) WritePool() *pgxpool.Pool { return s.pool }

// reader returns the pipe that serves reads of product: the read replica's
// when one is configured and holds every write this process has seen for
// the product (see replica), else the primary's. Writes, and reads inside
// a write, always use s.pool.
func (s *Store) reader(product int32) *readPipe {
	if s.replica == nil {
		return s.reads
	}
	return s.replica.pick(s.reads, product)
}

// Ready reports whether the database answers and its schema is current.
func (s *Store) Ready(ctx context.Context) error {
	return schema.Check(ctx, s.pool)
}
