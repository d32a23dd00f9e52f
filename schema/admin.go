package schema

import "github.com/jackc/pgx/v5"

// Statements about the server rather than the data: databases (package
// pglocal's EnsureDatabase, package testdb's throwaway databases) and the
// connection limits an instance checks at start (package server). CREATE
// and DROP DATABASE take no parameters, so the name goes through
// pgx.Identifier, quoted.

// DatabaseExists tells whether database $1 exists.
const DatabaseExists = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)"

// CreateDatabase creates database name.
func CreateDatabase(name string) string {
	return "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
}

// DropDatabase drops database name, ending its sessions first.
func DropDatabase(name string) string {
	return "DROP DATABASE " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
}

// ConnectionLimits reads max_connections and the connections reserved
// for superusers (superuser_reserved_connections, plus
// reserved_connections from PostgreSQL 16 on: missing_ok makes it NULL
// before, read as 0).
const ConnectionLimits = `SELECT current_setting('max_connections')::int,
		current_setting('superuser_reserved_connections')::int
		+ coalesce(current_setting('reserved_connections', true)::int, 0)`
