package server

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/schema"
)

// coherenceConns are the connections an instance holds on the primary
// outside its pools: the invalidation listener's and the announcer's
// (package invalidate), one each.
const coherenceConns = 2

// connBudget is what instances sharing one primary hold on it, against
// what the primary admits. Every instance opens all its connections at
// start and keeps them (pools with MinConns = MaxConns), so the sum is
// what the database sees, not a peak that might never come.
type connBudget struct {
	Instances int // instances on this database, this one included
	Writes    int // the write pool's connections (DB_MAX_CONNS or pool_max_conns)
	Reads     int // the read pool's connections (DB_READ_PIPELINES)

	MaxConnections int // the server's max_connections
	Reserved       int // superuser_reserved_connections + reserved_connections (PostgreSQL 16+)
}

// PerInstance is what one instance holds on the primary. A replica's pool
// is on the replica, so it is not counted here.
func (b connBudget) PerInstance() int { return b.Writes + b.Reads + coherenceConns }

// Check fails when the instances would hold more connections than the
// primary admits for ordinary roles: past that, whichever instance starts
// last gets "too many clients" on some of its connections and stays cold
// (its pools never fill), and an operator's psql finds no slot either.
func (b connBudget) Check() error {
	need, room := b.Instances*b.PerInstance(), b.MaxConnections-b.Reserved
	if need <= room {
		return nil
	}
	return fmt.Errorf("database connections: %d instance(s) × %d connections each (%d for writes, %d read pipelines, %d for cache coherence) = %d, "+
		"more than the %d the database admits (max_connections %d less %d reserved); "+
		"lower DB_MAX_CONNS (or the URL's pool_max_conns) or DB_READ_PIPELINES, or raise max_connections",
		b.Instances, b.PerInstance(), b.Writes, b.Reads, coherenceConns, need, room, b.MaxConnections, b.Reserved)
}

// checkConnBudget reads the primary's limits through pool and checks that
// instances × (writes + reads + coherence) fit.
func checkConnBudget(ctx context.Context, pool *pgxpool.Pool, instances, writes, reads int) error {
	b := connBudget{Instances: max(instances, 1), Writes: writes, Reads: reads}
	err := pool.QueryRow(ctx, schema.ConnectionLimits).Scan(&b.MaxConnections, &b.Reserved)
	if err != nil {
		return fmt.Errorf("database: reading max_connections: %w", err)
	}
	return b.Check()
}
