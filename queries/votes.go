package queries

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// markHelpfulBatch is PUT /reviews/:id/helpful for many votes at once: one
// statement, one implicit transaction, one commit for every vote an
// instance received while its previous batches were on their way
// (votePipe). A vote is one element of the three arrays: the review, the
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

// votePipe turns the votes that arrive while earlier ones are on their way
// into one statement (markHelpfulBatch), the way the read pipe batches
// reads: a vote that finds a free slot leads at once (alone at low load,
// so it waits for nothing), and the votes queued behind it leave together
// with the next leader. Every vote pays for a durable commit, so folding N
// votes into one transaction makes one WAL flush and one round trip of N,
// and a hot review one row update per batch.
type votePipe struct {
	pool  *pgxpool.Pool
	slots chan struct{}
	// write classifies a batch's failure the way every write does.
	write func(ctx context.Context, f func(c *pgxpool.Conn) error) error

	mu    sync.Mutex
	queue []*voteJob

	batches, votes atomic.Uint64
}

// voteJob is one vote in a votePipe.
type voteJob struct {
	ctx    context.Context
	review int32
	key    string // "" for none
	hash   []byte

	product int32
	found   bool
	counted bool
	err     error
	taken   bool // by a leader; guarded by votePipe.mu
	done    chan struct{}
}

// votePipelines is how many vote batches an instance has in flight at
// once: one. A vote's cost is its commit (the WAL
// flush, the round trip), so the votes that arrive while a batch commits
// are worth more as the next, larger batch than as a second small one
// committing beside it; PostgreSQL flushes the WAL of concurrent commits
// together anyway. Two per instance (one per CPU, as for reads) made
// smaller batches under the cluster's write runs and used more CPU per
// vote in PostgreSQL and in the instances than one (BENCHMARKS.md,
// "Cluster").
const votePipelines = 1

func newVotePipe(pool *pgxpool.Pool, write func(ctx context.Context, f func(c *pgxpool.Conn) error) error) *votePipe {
	return &votePipe{pool: pool, slots: make(chan struct{}, votePipelines), write: write}
}

// vote adds one vote and reports its review's product (found false: no
// such review) and whether it counted (false: its key was stored already).
// A vote whose context ends while it waits in the queue returns a
// *WriteError that says nothing was sent; once a leader has taken it, it
// waits for its batch's outcome (bounded by the leader's deadline).
func (p *votePipe) vote(ctx context.Context, review int32, key string, hash []byte) (product int32, found, counted bool, err error) {
	j := &voteJob{ctx: ctx, review: review, key: key, hash: hash, done: make(chan struct{}, 1)}
	p.mu.Lock()
	p.queue = append(p.queue, j)
	p.mu.Unlock()
	for {
		select {
		case <-j.done:
			return j.product, j.found, j.counted, j.err
		case p.slots <- struct{}{}:
			p.lead()
			<-p.slots
			p.mu.Lock()
			taken := j.taken
			p.mu.Unlock()
			if taken {
				<-j.done
				return j.product, j.found, j.counted, j.err
			}
			// Still queued (behind a full batch, or its key is in the batch
			// that just left): contend again.
		case <-ctx.Done():
			p.mu.Lock()
			if !j.taken {
				p.remove(j)
				p.mu.Unlock()
				return 0, false, false, &WriteError{Err: ctx.Err()}
			}
			p.mu.Unlock()
			<-j.done
			return j.product, j.found, j.counted, j.err
		}
	}
}

func (p *votePipe) remove(j *voteJob) { p.queue = removeQueued(p.queue, j) }

// take moves up to maxVotes queued votes into a batch, oldest first, never
// two with the same key (a repeat waits for the next batch, where the key
// is stored and it counts nothing).
func (p *votePipe) take() []*voteJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	batch := make([]*voteJob, 0, min(len(p.queue), maxVotes))
	rest := p.queue[:0]
	for _, j := range p.queue {
		if len(batch) == maxVotes || (j.key != "" && hasKey(batch, j.key)) {
			rest = append(rest, j)
			continue
		}
		j.taken = true
		batch = append(batch, j)
	}
	clear(p.queue[len(rest):])
	p.queue = rest
	return batch
}

func hasKey(batch []*voteJob, key string) bool {
	for _, j := range batch {
		if j.key == key {
			return true
		}
	}
	return false
}

// lead sends one batch and answers its votes. The caller holds a slot.
func (p *votePipe) lead() {
	batch := p.take()
	if len(batch) == 0 {
		return
	}
	p.batches.Add(1)
	p.votes.Add(uint64(len(batch)))
	// The batch runs until the latest of its votes' deadlines: one client
	// giving up must not fail the others.
	ctx := context.Background()
	if d, ok := latestDeadline(batch, func(j *voteJob) context.Context { return j.ctx }); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
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
		err = p.write(ctx, func(c *pgxpool.Conn) error {
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
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "40P01" && pgErr.Code != "40001") {
			break
		}
		for _, j := range batch {
			j.product, j.found, j.counted = 0, false, false
		}
	}
	for _, j := range batch {
		j.err = err
		j.done <- struct{}{}
	}
}

// VoteBatchStats reports how many vote statements were sent and how many
// votes they carried (their ratio is the mean batch size).
func (s *Store) VoteBatchStats() BatchStats {
	return BatchStats{Batches: s.votes.batches.Load(), Statements: s.votes.votes.Load()}
}
