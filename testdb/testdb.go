// Package testdb gives each test package its own freshly migrated database:
// on a throwaway cluster started with pglocal, or on the server named by
// TEST_DATABASE_URL. Tests never skip for want of PostgreSQL: they fail.
//
// The database is made on first use (URL, Pool, NewDatabase, Cluster,
// ReplicaURL), not by Main: a run of tests that need none, such as
// `go test -run TestParse ./handlers` or a fuzz worker, starts no cluster.
// With TESTDB_FORBID set (`make test-pure`) every such use fails the test
// instead, so a test listed as pure cannot quietly need PostgreSQL.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/pglocal"
	"github.com/catwalk/reviews/schema"
)

// ForbidEnv names the environment variable that forbids databases: set to
// anything but empty, the first use of one fails the test (make test-pure).
const ForbidEnv = "TESTDB_FORBID"

var (
	dbURL   string
	cluster *pglocal.Cluster

	// once makes the package's database on first use; setupErr is why it
	// could not, reported to every test that asks; cleanup undoes what
	// setup made, run by Main after the tests (nil: nothing was made).
	once     sync.Once
	setupErr error
	cleanup  func() error
)

// Main runs the package's tests and exits, then drops the database or
// stops the cluster if a test made one. Call it from TestMain:
// func TestMain(m *testing.M) { testdb.Main(m) }.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	code := m.Run()
	// Tests have ended, parallel ones included: none is inside once.Do.
	if cleanup != nil {
		if err := cleanup(); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: cleanup: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// ensure makes the package's database the first time a test asks, and
// fails tb with the reason when there is none (or databases are
// forbidden). Concurrent callers wait for the one that makes it.
func ensure(tb testing.TB) {
	tb.Helper()
	if os.Getenv(ForbidEnv) != "" {
		tb.Fatalf("testdb: %s is set: this test asks for a PostgreSQL database, yet it runs as one that needs none (make test-pure)", ForbidEnv)
	}
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cleanup, setupErr = setup(ctx)
	})
	if setupErr != nil {
		tb.Fatalf("testdb: cannot provide a PostgreSQL database, failing (tests never skip for this): %v", setupErr)
	}
}

func setup(ctx context.Context) (cleanup func() error, err error) {
	name := "catwalk_test_" + randomHex(6)
	admin := os.Getenv("TEST_DATABASE_URL")
	var stopCluster func() error = func() error { return nil }
	if admin == "" {
		dir, err := os.MkdirTemp("", "catwalk-testdb-")
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
		c, err := pglocal.Start(ctx, filepath.Join(dir, "data"), pglocal.Options{})
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		cluster = c
		// A test binary killed by a timeout runs no cleanup: the watchdog
		// stops the cluster when this process is gone.
		if err := c.StopWhenProcessExits(os.Getpid()); err != nil {
			c.Stop()
			os.RemoveAll(dir)
			return nil, err
		}
		admin = c.URL("postgres")
		stopCluster = func() error {
			err := c.Stop()
			os.RemoveAll(dir)
			return err
		}
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		stopCluster()
		return nil, fmt.Errorf("connect %s: %w", redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, schema.CreateDatabase(name)); err != nil {
		stopCluster()
		return nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		stopCluster()
		return nil, err
	}
	u.Path = "/" + name
	dbURL = u.String()

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		stopCluster()
		return nil, err
	}
	_, err = schema.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		stopCluster()
		return nil, err
	}
	return func() error {
		if cluster == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, admin)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, schema.DropDatabase(name))
			return err
		}
		return stopCluster()
	}, nil
}

// URL is the connection string of this package's test database, made on
// first use (tb fails when it cannot be).
func URL(tb testing.TB) string {
	tb.Helper()
	ensure(tb)
	return dbURL
}

// Cluster is the throwaway cluster, or nil when TEST_DATABASE_URL is used;
// it is started on first use, as URL's database.
func Cluster(tb testing.TB) *pglocal.Cluster {
	tb.Helper()
	ensure(tb)
	return cluster
}

// Pool opens a pool on the package's database, closed when tb ends.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), URL(tb))
	if err != nil {
		tb.Fatalf("testdb: pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// NewDatabase creates another empty, migrated database on the same server
// (for tests that need a clean slate, e.g. the ETL) and returns its URL.
// It is dropped when tb ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, true)
}

// NewEmptyDatabase is NewDatabase without the migrations.
func NewEmptyDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, false)
}

func newDatabase(tb testing.TB, migrate bool) string {
	tb.Helper()
	ensure(tb)
	ctx := context.Background()
	name := "catwalk_test_" + randomHex(6)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("testdb: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, schema.CreateDatabase(name)); err != nil {
		tb.Fatalf("testdb: create database: %v", err)
	}
	u, _ := url.Parse(dbURL)
	u.Path = "/" + name
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			tb.Errorf("testdb: drop: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, schema.DropDatabase(name)); err != nil {
			tb.Errorf("testdb: drop: %v", err)
		}
	})
	if migrate {
		pool, err := pgxpool.New(ctx, u.String())
		if err != nil {
			tb.Fatalf("testdb: pool: %v", err)
		}
		_, err = schema.Migrate(ctx, pool)
		pool.Close()
		if err != nil {
			tb.Fatalf("testdb: migrate: %v", err)
		}
	}
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
