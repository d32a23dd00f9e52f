package queries

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// maxPosts bounds the reviews of one transaction.
const maxPosts = 16

// postJob is one POST /reviews in the posts' writePipe.
type postJob struct {
	pending
	review *NewReview
	hash   []byte

	// createReview's row.
	id        *int32
	nChars    int64
	valid     bool
	priorHash []byte
	status    *int16
	response  []byte
	// stored: the response of a concurrent request with the same key that
	// committed first.
	stored *Stored
}

// queue adds j's createReview to b.
func (j *postJob) queue(b *pgx.Batch) {
	var k, hash any
	if j.key != "" {
		k, hash = j.key, j.hash
	}
	r := j.review
	photos := r.Photos
	if photos == nil {
		photos = []string{}
	}
	b.Queue(createReview,
		r.ProductID, r.Rating, r.Summary, r.Body, r.Recommend, r.Name, r.Email,
		photos, r.CharacteristicIDs, r.Values, k, hash,
	).QueryRow(func(row pgx.Row) error {
		return row.Scan(&j.id, &j.nChars, &j.valid, &j.priorHash, &j.status, &j.response)
	})
}

// keyRaced: valid, yet not written, with a key: a concurrent request with
// the same key committed while this one waited for it.
func (j *postJob) keyRaced() bool {
	return j.status == nil && j.id == nil && j.nChars > 0 && j.valid && j.key != ""
}

func (j *postJob) reset() {
	j.id, j.nChars, j.valid, j.priorHash, j.status, j.response, j.stored = nil, 0, false, nil, nil, nil, nil
}

// sendPosts writes a batch of reviews in one implicit transaction: one
// pipeline of createReview statements with one Sync, so one commit (one
// WAL flush) for all of them, and reviews of one product wait for no other
// transaction's commit. The batch is sorted by product, so that two
// batches lock the products' characteristics in the same order and never
// deadlock. A statement that fails (a request the database rejects) rolls
// the whole transaction back, so nothing of the batch was written: then
// each review is written alone, and gets its own answer.
func (s *Store) sendPosts(ctx context.Context, batch []*postJob) {
	if len(batch) == 1 {
		s.sendPost(ctx, batch[0])
		return
	}
	sorted := slices.Clone(batch)
	slices.SortStableFunc(sorted, func(a, b *postJob) int { return int(a.review.ProductID) - int(b.review.ProductID) })
	var b pgx.Batch
	b.Queue(genericPlan)
	for _, j := range sorted {
		j.queue(&b)
	}
	err := s.write(ctx, func(c *pgxpool.Conn) error {
		if err := c.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		// Committed: a key that raced a concurrent request reads its
		// stored response now.
		for _, j := range batch {
			if j.keyRaced() {
				var err error
				if j.stored, err = readStored(ctx, c, j.key); err != nil {
					j.err = err
				}
			}
		}
		return nil
	})
	var we *WriteError
	if err == nil || errors.As(err, &we) {
		// Written, or the database's absence: the same for every review.
		if err != nil {
			for _, j := range batch {
				j.err = err
			}
		}
		return
	}
	// PostgreSQL rejected a statement (or a deadlock): the transaction
	// rolled back, nothing was written; one by one.
	for _, j := range batch {
		j.reset()
		s.sendPost(ctx, j)
	}
}

// sendPost writes one review alone.
func (s *Store) sendPost(ctx context.Context, j *postJob) {
	var b pgx.Batch
	b.Queue(genericPlan)
	j.queue(&b)
	j.err = s.write(ctx, func(c *pgxpool.Conn) error {
		if err := c.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		if j.keyRaced() {
			var err error
			j.stored, err = readStored(ctx, c, j.key)
			return err
		}
		return nil
	})
}

// PostBatchStats reports how many transactions wrote POSTed reviews and
// how many reviews they carried (their ratio is the mean batch size).
func (s *Store) PostBatchStats() BatchStats { return s.posts.stats() }
