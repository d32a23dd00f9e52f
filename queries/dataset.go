package queries

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// hasReviewsSQL asks for any row, reported ones included: a database that
// ever held a dataset is not empty.
const hasReviewsSQL = "SELECT EXISTS (SELECT 1 FROM reviews)"

// HasReviews reports whether the database holds any review. `catwalk dev`
// and `catwalk migrate -demo-products` load a demo dataset only when it
// holds none: the data itself is the "already loaded" marker. db is a
// *pgx.Conn or a *pgxpool.Pool.
func HasReviews(ctx context.Context, db interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (bool, error) {
	var has bool
	err := db.QueryRow(ctx, hasReviewsSQL).Scan(&has)
	return has, err
}
