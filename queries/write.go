package queries

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/schema"
)

// NewReview is a validated POST /reviews body.
type NewReview struct {
	ProductID int32
	Rating    int16
	Summary   string
	Body      string
	Recommend bool
	Name      string
	Email     string
	Photos    []string
	// CharacteristicIDs and Values pair up: Values[i] rates CharacteristicIDs[i].
	CharacteristicIDs []int32
	Values            []int16
}

// IdempotencyKey names a POST: a repeat with the same Key and RequestHash
// gets the first response.
type IdempotencyKey struct {
	Key         string
	RequestHash []byte // SHA-256 of the raw request body
}

// Stored is the remembered response of an earlier request with the same key.
type Stored struct {
	RequestHash []byte
	Status      int
	Body        []byte
}

// WriteError is a write that failed for want of the database. It says
// whether the write may have been saved, so the client can be told whether
// a retry could count it twice.
type WriteError struct {
	// MaybeWritten: the statement was sent and the connection broke (or
	// timed out) before its outcome arrived, so it may have committed.
	// False: provably nothing reached PostgreSQL (no connection could be
	// had, or the failure came before a byte was sent).
	MaybeWritten bool
	Err          error
}

func (e *WriteError) Error() string {
	if e.MaybeWritten {
		return "outcome unknown: " + e.Err.Error()
	}
	return "not sent: " + e.Err.Error()
}

func (e *WriteError) Unwrap() error { return e.Err }

// write runs f on a connection of the write pool and turns a failure that
// is the database's absence into a *WriteError. An error PostgreSQL
// answered with (the connection still open: the statement failed and its
// implicit transaction rolled back) and f's own errors pass through.
func (s *Store) write(ctx context.Context, f func(c *pgxpool.Conn) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return &WriteError{Err: err}
	}
	err = f(c)
	closed := c.Conn().IsClosed()
	c.Release()
	switch {
	case err == nil:
		return nil
	case pgconn.SafeToRetry(err):
		return &WriteError{Err: err}
	case closed:
		// Lost mid-statement: reset, EOF, a FATAL error (the backend was
		// terminated) or a deadline, after the statement was on its way.
		return &WriteError{MaybeWritten: true, Err: err}
	}
	return err
}

// Errors of the write statements that the client can act on.
var (
	// ErrNotFound: no review with that id.
	ErrNotFound = errors.New("not found")
	// ErrNoCharacteristics: the product has no characteristics in our data.
	ErrNoCharacteristics = errors.New("product has no characteristics")
	// ErrCharacteristicsMismatch: the ratings do not cover exactly the
	// product's characteristics.
	ErrCharacteristicsMismatch = errors.New("characteristics do not match the product's")
)

// createReview is POST /reviews in one statement, hence one implicit
// transaction and one round trip: the characteristics check, the
// idempotency key, the review with its photos read model, the photos, the
// characteristic values and the aggregates.
//
//   - prior: the response remembered for the key, if any; then nothing is written.
//   - chars: the product's characteristics, locked in id order (index
//     characteristics_product_idx). Every write that changes a product's
//     aggregates takes these locks first, so concurrent writers of one
//     product queue here instead of deadlocking on product_meta.
//   - shown/verdict/fresh: the ratings must cover exactly the
//     characteristics meta shows — of two with the same name, the lower id
//     (a frontend learns the ids from meta, so it can never rate the
//     other); only then is a review id drawn from the identity sequence.
//   - keyed/accepted: with a key, the review is written only if this
//     statement inserted the key. A concurrent request holding the same
//     uncommitted key makes the insert wait for it; if that one commits,
//     nothing is written here and the caller reads the stored response.
//   - photo_ids pairs ascending photo ids with the URLs in request order;
//     the review's photos column is the JSON array the API sends, built by
//     schema.PhotosJSONAgg like the ETL's, so the bytes match.
//
// Result: review id (NULL when nothing was written), the number of the
// product's characteristics, whether the ratings matched them, and the
// prior key row if any.
const createReview = `
WITH prior AS (
    SELECT request_hash, status, response FROM idempotency_keys WHERE key = $11::text
), chars AS (
    SELECT id, name FROM characteristics WHERE product_id = $1 ORDER BY id FOR UPDATE
), shown AS (
    SELECT DISTINCT ON (name) id FROM chars ORDER BY name, id
), input AS (
    SELECT cid, val FROM unnest($9::int4[], $10::int2[]) AS i (cid, val)
), verdict AS (
    SELECT count(*) AS n, count(i.cid) AS rated FROM shown c LEFT JOIN input i ON i.cid = c.id
), fresh AS (
    SELECT nextval(pg_get_serial_sequence('reviews', 'id'))::int4 AS id,
           date_trunc('milliseconds', now()) AS date
    FROM verdict v
    WHERE v.n > 0 AND v.rated = v.n AND v.n = cardinality($9::int4[])
      AND NOT EXISTS (SELECT FROM prior)
), keyed AS (
    INSERT INTO idempotency_keys (key, request_hash, status, response)
    SELECT $11::text, $12::bytea, 201, convert_to('{"review_id":' || f.id || '}', 'UTF8')
    FROM fresh f WHERE $11::text IS NOT NULL
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), accepted AS (
    SELECT f.id, f.date FROM fresh f WHERE $11::text IS NULL OR EXISTS (SELECT FROM keyed)
), photo_ids AS (
    SELECT id, row_number() OVER (ORDER BY id) AS ord
    FROM (SELECT nextval(pg_get_serial_sequence('reviews_photos', 'id'))::int4 AS id
          FROM accepted, generate_series(1, cardinality($8::text[]))) AS s
), photo_rows AS (
    SELECT p.id, u.url FROM photo_ids p JOIN unnest($8::text[]) WITH ORDINALITY AS u (url, ord) ON u.ord = p.ord
), review AS (
    INSERT INTO reviews (id, product_id, rating, date, summary, body, recommend,
                         reviewer_name, reviewer_email, photos)
    SELECT a.id, $1, $2, a.date, $3, $4, $5, $6, $7,
           COALESCE((SELECT ` + schema.PhotosJSONAgg + `
                     FROM photo_rows), '[]')::json
    FROM accepted a
    RETURNING id
), photos AS (
    INSERT INTO reviews_photos (id, review_id, url)
    SELECT p.id, a.id, p.url FROM photo_rows p, accepted a
), rated AS (
    INSERT INTO characteristic_reviews (characteristic_id, review_id, value)
    SELECT i.cid, a.id, i.val FROM input i, accepted a
), sums AS (
    UPDATE characteristics c SET value_sum = c.value_sum + i.val, value_count = c.value_count + 1
    FROM input i, accepted a WHERE c.id = i.cid
), meta AS (
    INSERT INTO product_meta AS m (product_id, rating_1, rating_2, rating_3, rating_4, rating_5,
                                   recommend_false, recommend_true)
    SELECT $1, ($2 = 1)::int, ($2 = 2)::int, ($2 = 3)::int, ($2 = 4)::int, ($2 = 5)::int,
           (NOT $5)::int, $5::int
    FROM accepted
    ON CONFLICT (product_id) DO UPDATE SET
        rating_1 = m.rating_1 + EXCLUDED.rating_1, rating_2 = m.rating_2 + EXCLUDED.rating_2,
        rating_3 = m.rating_3 + EXCLUDED.rating_3, rating_4 = m.rating_4 + EXCLUDED.rating_4,
        rating_5 = m.rating_5 + EXCLUDED.rating_5,
        recommend_false = m.recommend_false + EXCLUDED.recommend_false,
        recommend_true = m.recommend_true + EXCLUDED.recommend_true
)
SELECT (SELECT id FROM review), (SELECT n FROM verdict), EXISTS (SELECT FROM fresh),
       p.request_hash, p.status, p.response
FROM (SELECT 1) AS one LEFT JOIN prior p ON true`

// genericPlan makes the rest of the transaction reuse the prepared
// statement's generic plan. Planning createReview afresh for each request's
// values (PostgreSQL's choice for it) costs more than running it, and its
// plan does not depend on the values.
const genericPlan = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`

// storedResponse reads the response remembered for a key (after a
// concurrent request with the key committed first).
const storedResponse = `SELECT request_hash, status, response FROM idempotency_keys WHERE key = $1`

// CreateReview writes r in one transaction and returns its id. With a key
// already used, it writes nothing and returns the stored response instead
// (id 0); comparing the request hash is the caller's business.
func (s *Store) CreateReview(ctx context.Context, r *NewReview, key *IdempotencyKey) (int32, *Stored, error) {
	var k, hash any
	if key != nil {
		k, hash = key.Key, key.RequestHash
	}
	photos := r.Photos
	if photos == nil {
		photos = []string{}
	}
	var (
		id        *int32
		nChars    int64
		valid     bool
		priorHash []byte
		status    *int16
		response  []byte
	)
	// One round trip: the batch is one implicit transaction, so the
	// generic-plan setting holds for createReview alone.
	var b pgx.Batch
	b.Queue(genericPlan)
	b.Queue(createReview,
		r.ProductID, r.Rating, r.Summary, r.Body, r.Recommend, r.Name, r.Email,
		photos, r.CharacteristicIDs, r.Values, k, hash,
	).QueryRow(func(row pgx.Row) error {
		return row.Scan(&id, &nChars, &valid, &priorHash, &status, &response)
	})
	var st *Stored
	err := s.write(ctx, func(c *pgxpool.Conn) error {
		if err := c.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		if status == nil && id == nil && nChars > 0 && valid && key != nil {
			// Valid, yet not written: a concurrent request with the same
			// key committed while this one waited for it.
			var err error
			st, err = readStored(ctx, c, key.Key)
			return err
		}
		return nil
	})
	switch {
	case err != nil:
		return 0, nil, fmt.Errorf("create review: %w", err)
	case status != nil:
		return 0, &Stored{RequestHash: priorHash, Status: int(*status), Body: response}, nil
	case id != nil:
		return *id, nil, nil
	case nChars == 0:
		return 0, nil, ErrNoCharacteristics
	case st != nil:
		return 0, st, nil
	default:
		return 0, nil, ErrCharacteristicsMismatch
	}
}

// readStored reads the row stored for key.
func readStored(ctx context.Context, c *pgxpool.Conn, key string) (*Stored, error) {
	st := &Stored{}
	var code int16
	if err := c.QueryRow(ctx, storedResponse, key).Scan(&st.RequestHash, &code, &st.Body); err != nil {
		return nil, err
	}
	st.Status = int(code)
	return st, nil
}

// HelpfulRequest is what a helpful vote's key is stored with in
// request_hash: the request itself, with the review id canonical. It can
// never equal a POST's SHA-256 (32 bytes; this is at most 31), so a key is
// good for one kind of request only.
func HelpfulRequest(reviewID int32) []byte {
	b := make([]byte, 0, 32)
	b = append(b, "PUT /reviews/"...)
	b = strconv.AppendInt(b, int64(reviewID), 10)
	return append(b, "/helpful"...)
}

// MarkHelpful adds one to the review's helpfulness and returns its product.
// With a key already used, it votes nothing and returns the review's
// product and the stored row (comparing the request is the caller's
// business). The vote goes out with the others this instance has waiting
// (votePipe, markHelpfulBatch).
func (s *Store) MarkHelpful(ctx context.Context, reviewID int32, key *IdempotencyKey) (int32, *Stored, error) {
	var (
		k    string
		hash []byte
	)
	if key != nil {
		k, hash = key.Key, key.RequestHash
	}
	// Twice at most: a key that vanished between the conflict and the read
	// (the janitor) is free again.
	for range 2 {
		product, found, counted, err := s.votes.vote(ctx, reviewID, k, hash)
		switch {
		case err != nil:
			return 0, nil, fmt.Errorf("mark helpful: %w", err)
		case !found:
			return 0, nil, ErrNotFound
		case counted || key == nil:
			return product, nil, nil
		}
		var stored *Stored
		err = s.write(ctx, func(c *pgxpool.Conn) error {
			var err error
			stored, err = readStored(ctx, c, k)
			return err
		})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			continue
		case err != nil:
			return 0, nil, fmt.Errorf("mark helpful: %w", err)
		}
		return product, stored, nil
	}
	return 0, nil, errors.New("mark helpful: idempotency key conflicts, yet is not stored")
}

// reportReview hides a review, once: only the statement that flips
// reported marks api_reported and api_pending (a load carries the report
// over, schema/004_api_votes.sql) and subtracts the review from
// product_meta and from its characteristics' sums.
//
// The product's characteristics are locked in id order before the review
// row (the subquery in flipped's WHERE runs before the row is locked), the
// order createReview uses. A concurrent report of the same review waits on
// those locks, then re-checks "NOT reported" on the committed row and
// changes nothing.
const reportReview = `
WITH target AS (
    SELECT product_id FROM reviews WHERE id = $1
), locked AS (
    SELECT id FROM characteristics
    WHERE product_id = (SELECT product_id FROM target) ORDER BY id FOR UPDATE
), flipped AS (
    UPDATE reviews SET reported = true, api_reported = true, api_pending = true
    WHERE id = $1 AND NOT reported AND (SELECT count(*) FROM locked) >= 0
    RETURNING product_id, rating, recommend
), meta AS (
    UPDATE product_meta m SET
        rating_1 = m.rating_1 - (f.rating = 1)::int, rating_2 = m.rating_2 - (f.rating = 2)::int,
        rating_3 = m.rating_3 - (f.rating = 3)::int, rating_4 = m.rating_4 - (f.rating = 4)::int,
        rating_5 = m.rating_5 - (f.rating = 5)::int,
        recommend_false = m.recommend_false - (NOT f.recommend)::int,
        recommend_true = m.recommend_true - f.recommend::int
    FROM flipped f WHERE m.product_id = f.product_id
), sums AS (
    UPDATE characteristics c SET value_sum = c.value_sum - cr.value, value_count = c.value_count - 1
    FROM characteristic_reviews cr, flipped f
    WHERE cr.review_id = $1 AND c.id = cr.characteristic_id
)
SELECT t.product_id, EXISTS (SELECT FROM flipped) FROM target t`

// ReportReview marks the review reported and returns its product and
// whether this call changed anything (false when it was reported already).
func (s *Store) ReportReview(ctx context.Context, reviewID int32) (product int32, changed bool, err error) {
	err = s.write(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, reportReview, reviewID).Scan(&product, &changed)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, ErrNotFound
	}
	if err != nil {
		return 0, false, fmt.Errorf("report review: %w", err)
	}
	return product, changed, nil
}

// expireKeys deletes a bounded batch of idempotency keys older than the
// cutoff (index idempotency_keys_created_idx), so one run never holds many
// locks; several instances may run it at once.
const expireKeys = `
DELETE FROM idempotency_keys WHERE key IN (
    SELECT key FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2
)`

const expireBatch = 5000

// ExpireIdempotencyKeys deletes keys created before now − keep and returns
// how many it deleted.
func (s *Store) ExpireIdempotencyKeys(ctx context.Context, keep time.Duration) (int64, error) {
	cutoff := time.Now().Add(-keep)
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, expireKeys, cutoff, expireBatch)
		if err != nil {
			return total, fmt.Errorf("expire idempotency keys: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < expireBatch {
			return total, nil
		}
	}
}

// RunKeyJanitor calls ExpireIdempotencyKeys every interval until ctx ends,
// logging failures through logf. Each serving instance runs one.
func (s *Store) RunKeyJanitor(ctx context.Context, keep, every time.Duration, logf func(msg string, args ...any)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.ExpireIdempotencyKeys(ctx, keep); err != nil && ctx.Err() == nil {
			logf("idempotency key janitor", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WriteSQL is every statement WarmWriteConn prepares (for tests that look
// for them on a connection).
func WriteSQL() []string {
	return []string{genericPlan, createReview, storedResponse, markHelpfulBatch, reportReview}
}

// WarmWriteConn prepares and plans every write statement on a fresh
// connection of the write pool, as WarmConn does for reads: each runs once,
// on ids that match nothing, in a transaction that is rolled back, so
// nothing is written (no sequence value drawn, no key stored) and the first write on the connection costs what the next
// ones do. Statements go through the connection's statement cache, where
// the requests will find them.
func WarmWriteConn(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("warm write statements: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // the rollback below reports
	var b pgx.Batch
	b.Queue(genericPlan)
	b.Queue(createReview, int32(0), int16(1), "", "", false, "", "", []string{}, []int32{}, []int16{}, nil, nil)
	b.Queue(storedResponse, "")
	b.Queue(markHelpfulBatch, []int32{0}, []string{""}, [][]byte{nil})
	b.Queue(reportReview, int32(0))
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("warm write statements: %w", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		return fmt.Errorf("warm write statements: %w", err)
	}
	return nil
}
