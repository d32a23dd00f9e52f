package queries

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Sort is an order of GET /reviews.
type Sort uint8

const (
	SortRelevant Sort = iota + 1
	SortNewest
	SortHelpful
)

// The three list statements, one per Sort. Each is an index-ordered scan of
// one product's non-reported reviews on its partial index (proved by
// TestListPlansUseIndexes): the ORDER BY spells the index's key order exactly,
// so PostgreSQL stops after LIMIT rows and never sorts. $1 product, $2 limit,
// $3 offset.
const (
	// listRelevantSQL relies on reviews_relevant_idx (product_id, score DESC, id DESC).
	listRelevantSQL = `SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews WHERE product_id = $1 AND NOT reported
ORDER BY score DESC, id DESC LIMIT $2 OFFSET $3`

	// listNewestSQL relies on reviews_newest_idx (product_id, date DESC, id DESC).
	listNewestSQL = `SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews WHERE product_id = $1 AND NOT reported
ORDER BY date DESC, id DESC LIMIT $2 OFFSET $3`

	// listHelpfulSQL relies on reviews_helpful_idx (product_id, helpfulness DESC, date DESC, id DESC).
	listHelpfulSQL = `SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews WHERE product_id = $1 AND NOT reported
ORDER BY helpfulness DESC, date DESC, id DESC LIMIT $2 OFFSET $3`
)

// ListSQL is the statement of sort s (for tests that EXPLAIN it and for the
// load scripts that pgbench it).
func ListSQL(s Sort) string {
	switch s {
	case SortNewest:
		return listNewestSQL
	case SortHelpful:
		return listHelpfulSQL
	default:
		return listRelevantSQL
	}
}

// Review is one row of a list page. The byte slices point into the driver's
// read buffer: they are valid only during the callback that receives them.
type Review struct {
	ID           int32
	Rating       int16
	Summary      pgtype.DriverBytes
	Recommend    bool
	Response     pgtype.DriverBytes // nil when the review has no response ("" is not nil)
	Body         pgtype.DriverBytes
	Date         time.Time
	ReviewerName pgtype.DriverBytes
	Helpfulness  int32
	// Photos is the JSON array the API sends, as stored by the read model.
	Photos pgtype.DriverBytes
}

// ListReviews runs one list page of product in order s: limit rows from
// offset, in one round trip (shared with concurrent reads, see readPipe),
// calling fn for each row in order. The Review passed to fn is reused and
// its slices die when fn returns. An error of fn is returned as is.
func (s *Store) ListReviews(ctx context.Context, product int32, sort Sort, limit int32, offset int64, fn func(*Review) error) error {
	var r Review
	var fnErr error
	err := s.reader(product).run(ctx, listStmt(sort), func(v [][]byte) error {
		if !decodeReview(&r, v) {
			return errUnexpectedRow
		}
		fnErr = fn(&r)
		return fnErr
	}, int64(product), int64(limit), offset)
	if err != nil && err != fnErr {
		return fmt.Errorf("list reviews: %w", err)
	}
	return err // nil, or fn's own error as is
}

// errUnexpectedRow reports a row whose values do not have the shape the
// statement promises (a NULL where none may be, an infinite date).
var errUnexpectedRow = errors.New("unexpected NULL or out-of-range value in a row")

var listStmts = [...]readStmt{
	SortRelevant: {listRelevantSQL, listFormats[:]},
	SortNewest:   {listNewestSQL, listFormats[:]},
	SortHelpful:  {listHelpfulSQL, listFormats[:]},
}

func listStmt(s Sort) *readStmt {
	if s < SortRelevant || s > SortHelpful {
		s = SortRelevant
	}
	return &listStmts[s]
}

// listFormats are the result formats of the list columns: binary for
// integers, booleans and timestamps, text for text and json, so that a row
// is decoded straight from the wire.
var listFormats = [...]int16{
	pgtype.BinaryFormatCode, pgtype.BinaryFormatCode, pgtype.TextFormatCode, pgtype.BinaryFormatCode, pgtype.TextFormatCode,
	pgtype.TextFormatCode, pgtype.BinaryFormatCode, pgtype.TextFormatCode, pgtype.BinaryFormatCode, pgtype.TextFormatCode,
}

// pgEpochUnix is 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix
// seconds.
const pgEpochUnix = 946684800

// decodeReview fills r from one row in listFormats, or reports false when a
// value does not have the expected shape (a NULL where none may be, an
// infinite date).
func decodeReview(r *Review, v [][]byte) bool {
	if len(v) != len(listFormats) || len(v[0]) != 4 || len(v[1]) != 2 || v[2] == nil || len(v[3]) != 1 ||
		v[5] == nil || len(v[6]) != 8 || v[7] == nil || len(v[8]) != 4 || v[9] == nil {
		return false
	}
	us := int64(binary.BigEndian.Uint64(v[6]))
	if us == math.MaxInt64 || us == math.MinInt64 { // ±infinity
		return false
	}
	r.ID = int32(binary.BigEndian.Uint32(v[0]))
	r.Rating = int16(binary.BigEndian.Uint16(v[1]))
	r.Summary = v[2]
	r.Recommend = v[3][0] != 0
	r.Response = v[4] // nil for NULL
	r.Body = v[5]
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	r.Date = time.Unix(pgEpochUnix+sec, frac*1000).UTC()
	r.ReviewerName = v[7]
	r.Helpfulness = int32(binary.BigEndian.Uint32(v[8]))
	r.Photos = v[9]
	return true
}

// metaSQL reads a product's precomputed aggregates in one statement, never
// characteristic_reviews: product_meta by its primary key and the product's
// characteristics on characteristics_product_idx, in id order. The VALUES row
// makes an unknown product still answer one row (all NULLs).
const metaSQL = `SELECT m.rating_1, m.rating_2, m.rating_3, m.rating_4, m.rating_5,
       m.recommend_false, m.recommend_true,
       c.id, c.name, c.value_sum, c.value_count
FROM (VALUES ($1::integer)) AS p (product_id)
LEFT JOIN product_meta m ON m.product_id = p.product_id
LEFT JOIN characteristics c ON c.product_id = p.product_id
ORDER BY c.id`

// MetaSQL is the meta statement (for tests and load scripts).
func MetaSQL() string { return metaSQL }

// Characteristic is one characteristic of a product with the sum and count
// of its values over non-reported reviews.
type Characteristic struct {
	ID    int32
	Name  string
	Sum   int64
	Count int32
}

// Meta is a product's aggregates over its non-reported reviews.
type Meta struct {
	// Ratings[i] counts reviews rated i+1.
	Ratings [5]int32
	// Recommended[0] counts recommend=false, [1] recommend=true.
	Recommended [2]int32
	// Characteristics in id order.
	Characteristics []Characteristic
}

// metaFormats are the result formats of the meta columns: binary for the
// integers, text for the name.
var metaFormats = [...]int16{
	pgtype.BinaryFormatCode, pgtype.BinaryFormatCode, pgtype.BinaryFormatCode, pgtype.BinaryFormatCode, pgtype.BinaryFormatCode,
	pgtype.BinaryFormatCode, pgtype.BinaryFormatCode,
	pgtype.BinaryFormatCode, pgtype.TextFormatCode, pgtype.BinaryFormatCode, pgtype.BinaryFormatCode,
}

var metaStmt = readStmt{metaSQL, metaFormats[:]}

// ProductMeta reads product's aggregates in one round trip (shared with
// concurrent reads, see readPipe). An unknown product has zero counts and
// no characteristics.
func (s *Store) ProductMeta(ctx context.Context, product int32) (Meta, error) {
	var m Meta
	first := true
	err := s.reader(product).run(ctx, &metaStmt, func(v [][]byte) error {
		if len(v) != len(metaFormats) {
			return errUnexpectedRow
		}
		if first {
			first = false
			var counts [7]int32
			for i := range counts {
				n, ok := int4OrNull(v[i])
				if !ok {
					return errUnexpectedRow
				}
				counts[i] = n
			}
			copy(m.Ratings[:], counts[:5])
			m.Recommended[0], m.Recommended[1] = counts[5], counts[6]
		}
		if v[7] == nil {
			return nil // no characteristics: the one row of the LEFT JOIN
		}
		if len(v[7]) != 4 || v[8] == nil || len(v[9]) != 8 || len(v[10]) != 4 {
			return errUnexpectedRow
		}
		m.Characteristics = append(m.Characteristics, Characteristic{
			ID:    int32(binary.BigEndian.Uint32(v[7])),
			Name:  string(v[8]),
			Sum:   int64(binary.BigEndian.Uint64(v[9])),
			Count: int32(binary.BigEndian.Uint32(v[10])),
		})
		return nil
	}, int64(product))
	if err != nil {
		return Meta{}, fmt.Errorf("product meta: %w", err)
	}
	return m, nil
}

// int4OrNull decodes a binary int4 that may be NULL (as 0).
func int4OrNull(v []byte) (int32, bool) {
	switch {
	case v == nil:
		return 0, true
	case len(v) == 4:
		return int32(binary.BigEndian.Uint32(v)), true
	default:
		return 0, false
	}
}

// WarmConn runs each read statement once on a fresh connection, for a
// product that does not exist, so the connection has them prepared and
// planned before the first request needs them: an instance that has just
// started otherwise answers its first burst of traffic slowly. The reads'
// pools call it as they open each connection and discard a connection it
// fails on (see server.newPool), so no request meets a cold one.
func WarmConn(ctx context.Context, conn *pgx.Conn) error {
	for _, st := range []*readStmt{&listStmts[SortRelevant], &listStmts[SortNewest], &listStmts[SortHelpful], &metaStmt} {
		// Prepared under the name readPipe looks up (the SQL itself).
		if _, err := conn.Prepare(ctx, st.sql, st.sql); err != nil {
			return fmt.Errorf("warm read statements: %w", err)
		}
		args := []any{int32(0), int32(1), int64(0)}
		if st == &metaStmt {
			args = args[:1]
		}
		rows, err := conn.Query(ctx, st.sql, args...)
		if err != nil {
			return fmt.Errorf("warm read statements: %w", err)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("warm read statements: %w", err)
		}
	}
	return nil
}
