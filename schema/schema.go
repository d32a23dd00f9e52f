// Package schema owns the database's contracts: every piece of DDL (the
// numbered migrations embedded in the binary and the code that applies them
// in order, once, under a lock; the ETL's statements) and the invalidation
// channel's name and payloads (notify.go).
package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed *.sql
var files embed.FS

// lockID is the pg_advisory_lock key that serialises migrators, so several
// instances starting at once apply each migration exactly once.
const lockID int64 = 0x63617477616c6b // "catwalk"

// ErrBehind is returned by Check when the database lacks migrations this
// binary knows about.
var ErrBehind = errors.New("database schema is behind this binary: run `catwalk migrate`")

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() []Migration {
	entries, err := fs.Glob(files, "*.sql")
	if err != nil {
		panic(err) // the pattern is constant
	}
	var ms []Migration
	for _, name := range entries {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic(fmt.Sprintf("schema: migration %q is not named NNN_name.sql", name))
		}
		body, err := files.ReadFile(name)
		if err != nil {
			panic(err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			panic(fmt.Sprintf("schema: migration %s breaks the sequence 1..n", m.Name))
		}
	}
	return ms
}

// Latest is the version the embedded migrations bring a database to.
func Latest() int { return len(Migrations()) }

// AdvisoryLock and AdvisoryUnlock take and release the session advisory
// lock of key $1: the migrator's, and the ETL's that serialises loads.
const (
	AdvisoryLock   = "SELECT pg_advisory_lock($1)"
	AdvisoryUnlock = "SELECT pg_advisory_unlock($1)"
)

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies every migration the database lacks, each in its own
// transaction, while holding a session advisory lock. It returns the names
// of the migrations it applied; running it again applies nothing.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, AdvisoryLock, lockID); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), AdvisoryUnlock, lockID) //nolint:errcheck // the session ends anyway

	if _, err := conn.Exec(ctx, createVersionTable); err != nil {
		return nil, fmt.Errorf("migrate: version table: %w", err)
	}
	current, err := version(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range Migrations() {
		if m.Version <= current {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

// Querier is the part of pgx a version check needs.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// version reports the highest migration applied to the database (0 when
// none).
func version(ctx context.Context, q Querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// Check returns ErrBehind when the database is older than this binary.
func Check(ctx context.Context, q Querier) error {
	v, err := version(ctx, q)
	if err != nil {
		return err
	}
	if v < Latest() {
		return fmt.Errorf("%w (database at %d, binary needs %d)", ErrBehind, v, Latest())
	}
	return nil
}
