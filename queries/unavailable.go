package queries

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable marks a failure that is the database's unavailability,
// not the request's: the connection was lost or refused, the server is
// shutting down or starting, or it did not answer in time. The request
// may succeed if retried shortly (handlers answer 503 with Retry-After).
var ErrUnavailable = errors.New("database unavailable")

// Unavailable reports whether err is the database's unavailability (see
// ErrUnavailable). It is the one place that knows which driver errors are:
//
//   - ErrUnavailable itself, however wrapped;
//   - a failed connection attempt (pgconn.ConnectError), a network error or
//     a connection cut mid-answer (io.ErrUnexpectedEOF, io.EOF, as after
//     `pg_ctl stop -m immediate`);
//   - a connection pgx has already closed or is still using ("conn
//     closed", "conn busy");
//   - a time-out (context.DeadlineExceeded, pgconn.Timeout);
//   - PostgreSQL's own: any FATAL or PANIC error (the server closes the
//     session after one), class 08 (connection exception), 57P01
//     admin_shutdown (pg_terminate_backend, smart or fast shutdown), 57P02
//     crash_shutdown, 57P03 cannot_connect_now, 53300
//     too_many_connections.
//
// A statement's own error (a constraint, a cancelled query) is not.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return connectionLost(pgErr)
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return true
	}
	// pgconn's "conn busy" has no exported sentinel; it is safe to retry
	// (nothing was sent), as is every lock failure of a connection.
	return pgconn.SafeToRetry(err) && strings.Contains(err.Error(), "conn ")
}

// connectionLost reports whether PostgreSQL's error ended the session or
// says the server cannot serve now.
func connectionLost(e *pgconn.PgError) bool {
	switch {
	case strings.EqualFold(e.Severity, "FATAL"), strings.EqualFold(e.Severity, "PANIC"):
		return true
	case strings.HasPrefix(e.Code, "08"):
		return true
	}
	switch e.Code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	}
	return false
}
