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

// Options configure a Store. The zero value runs reads and writes on the
// one pool given to Open, with DefaultReadPipelines read batches in flight.
type Options struct {
	// Reads, when set, runs the primary's reads instead of the write pool.
	// Reads on their own connections never wait behind writes that hold
	// every connection of the write pool, say while their durable commits
	// queue for WAL flushes. Size it to Pipelines; the Store does not close
	// it.
	Reads *pgxpool.Pool
	// Pipelines bounds the read batches in flight at once on each pool
	// (0: DefaultReadPipelines), capped by the pool's size (see readPipe).
	Pipelines int
	// Replica, when its Pool is set, serves the reads that are safe to
	// serve from a streaming standby (see replica); Close stops its probe.
	Replica ReplicaOptions
}

// Open returns a Store that writes (and LISTENs) on pool and reads as opt
// says. Every pipe is built here, once, so a Store never serves from one
// that is later replaced.
func Open(pool *pgxpool.Pool, opt Options) *Store {
	reads := pool
	if opt.Reads != nil {
		reads = opt.Reads
	}
	s := &Store{pool: pool, reads: newReadPipe(reads, opt.Pipelines)}
	s.votes = newVotePipe(pool, s.write)
	if opt.Replica.Pool != nil {
		s.replica = newReplica(pool, opt.Replica, opt.Pipelines)
	}
	return s
}

// New returns a Store on pool alone: Open(pool, Options{}), the
// convenience most tests use.
func New(pool *pgxpool.Pool) *Store { return Open(pool, Options{}) }

// WritePool is the pool the store's writes run on, and its reads too unless
// Options.Reads or a replica says otherwise (see ReadPool, ReplicaPool).
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
