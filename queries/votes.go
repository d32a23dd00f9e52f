package queries

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// markHelpfulBatch is PUT /reviews/:id/helpful for many votes at once: one
// statement, one implicit transaction, one commit for every vote an
// instance received while its previous batches were on their way
// (a writePipe, batch.go). A vote is one element of the three arrays: the review, the
// Idempotency-Key ("" for none) and the request its key is stored with.
//
//   - locked: the reviews voted on, locked in id order before anything is
//     written, so two batches sharing reviews queue on the first they share
//     instead of deadlocking; a review that does not exist gets no row, so
//     no key is stored for it (only successes are remembered, as for POST).
//   - keyed: the keys, in idempotency_keys with POST's keys (one namespace,
//     so a key is never good for two kinds of request), status 204 and an
//     empty response, inserted in key order. A key held by a concurrent
//     uncommitted transaction makes the insert wait for it; if that one
//     commits, DO NOTHING: that vote is not counted here and the caller
//     reads the stored row. The batcher never puts one key twice in a
//     batch.
//   - counted/voted: each review gets the votes that count (no key, or a
//     key this statement inserted) in one UPDATE of its row: a hot review
//     takes one row version per batch, not one per vote. The generated
//     score column follows helpfulness; reported reviews count too;
//     api_helpful and api_pending let a load carry the votes over
//     (schema/004_api_votes.sql).
//
// Result: one row per vote in input order: its review's product (NULL when
// there is no such review) and whether the vote counted.
const markHelpfulBatch = `
WITH input AS (
    SELECT v.review_id, NULLIF(v.key, '') AS key, v.request_hash, v.ord
    FROM unnest($1::int4[], $2::text[], $3::bytea[]) WITH ORDINALITY AS v (review_id, key, request_hash, ord)
), locked AS (
    SELECT id, product_id FROM reviews
    WHERE id IN (SELECT review_id FROM input) ORDER BY id FOR UPDATE
), keyed AS (
    INSERT INTO idempotency_keys (key, request_hash, status, response)
    SELECT i.key, i.request_hash, 204, ''::bytea
    FROM input i JOIN locked l ON l.id = i.review_id
    WHERE i.key IS NOT NULL ORDER BY i.key
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), counted AS (
    SELECT i.review_id, count(*) AS n FROM input i JOIN locked l ON l.id = i.review_id
    WHERE i.key IS NULL OR i.key IN (SELECT key FROM keyed)
    GROUP BY i.review_id
), voted AS (
    UPDATE reviews r SET helpfulness = r.helpfulness + c.n, api_helpful = r.api_helpful + c.n, api_pending = true
    FROM counted c WHERE r.id = c.review_id
)
SELECT l.product_id, l.id IS NOT NULL AND (i.key IS NULL OR i.key IN (SELECT key FROM keyed))
FROM input i LEFT JOIN locked l ON l.id = i.review_id
ORDER BY i.ord`

// maxVotes bounds the votes of one statement, so that one batch's locks
// and its answer stay small.
const maxVotes = 64

// voteJob is one vote in the votes' writePipe.
type voteJob struct {
	pending
	review int32
	hash   []byte

	product int32
	found   bool
	counted bool
}

// vote adds one vote and reports its review's product (found false: no
// such review) and whether it counted (false: its key was stored already).
func (s *Store) vote(ctx context.Context, review int32, key string, hash []byte) (product int32, found, counted bool, err error) {
	j := &voteJob{pending: pending{ctx: ctx, key: key}, review: review, hash: hash}
	err = s.votes.do(j)
	return j.product, j.found, j.counted, err
}

// sendVotes runs one batch of votes as markHelpfulBatch.
func (s *Store) sendVotes(ctx context.Context, batch []*voteJob) {
	reviews := make([]int32, len(batch))
	keys := make([]string, len(batch))
	hashes := make([][]byte, len(batch))
	for i, j := range batch {
		reviews[i], keys[i], hashes[i] = j.review, j.key, j.hash
	}
	var err error
	// A deadlock or serialization failure rolled the whole statement back
	// (nothing was written): the batch is sent again, a few times at most.
	for try := 0; try < 3; try++ {
		err = s.write(ctx, func(c *pgxpool.Conn) error {
			rows, err := c.Query(ctx, markHelpfulBatch, reviews, keys, hashes)
			if err != nil {
				return err
			}
			defer rows.Close()
			i := 0
			for rows.Next() {
				if i == len(batch) {
					return errors.New("vote batch: more rows than votes")
				}
				var product *int32
				if err := rows.Scan(&product, &batch[i].counted); err != nil {
					return err
				}
				if product != nil {
					batch[i].product, batch[i].found = *product, true
				}
				i++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if i != len(batch) {
				return errors.New("vote batch: fewer rows than votes")
			}
			return nil
		})
		if !retryable(err) {
			break
		}
		for _, j := range batch {
			j.product, j.found, j.counted = 0, false, false
		}
	}
	for _, j := range batch {
		j.err = err
	}
}

// retryable: PostgreSQL rolled the statement back for a deadlock or a
// serialization failure, so nothing was written and it may be sent again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// VoteBatchStats reports how many vote statements were sent and how many
// votes they carried (their ratio is the mean batch size).
func (s *Store) VoteBatchStats() BatchStats { return s.votes.stats() }
