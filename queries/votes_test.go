package queries

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// seedVoteReviews inserts n reviews of one product and returns their ids.
func seedVoteReviews(t *testing.T, pool *pgxpool.Pool, product int32, n int) []int32 {
	t.Helper()
	rows, err := pool.Query(t.Context(), `INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
		SELECT $1, 5, now(), 's', 'b', true, 'n', 'e@x' FROM generate_series(1, $2) RETURNING id`, product, n)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, 0, n)
	for rows.Next() {
		var id int32
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func votesOf(t *testing.T, pool *pgxpool.Pool, ids []int32) map[int32]int64 {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT id, helpfulness, api_helpful FROM reviews WHERE id = ANY($1)`, ids)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32]int64{}
	for rows.Next() {
		var id int32
		var h, api int64
		if err := rows.Scan(&id, &h, &api); err != nil {
			t.Fatal(err)
		}
		if h != api {
			t.Errorf("review %d: helpfulness %d, api_helpful %d; want equal (seeded at 0)", id, h, api)
		}
		got[id] = h
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// queued waits until the pipe holds n votes (synchronised on the pipe's
// own queue, no sleeping guess).
func (p *votePipe) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// TestVotesShareOneStatement: votes that wait while every slot is busy
// leave together, as one statement, and each gets its own answer: the
// product, a replayed key's stored row, a missing review's ErrNotFound
// (with no key stored for it), and a key repeated in the queue counted
// once.
func TestVotesShareOneStatement(t *testing.T) {
	pool := mustPool(t)
	s := New(pool)
	ids := seedVoteReviews(t, pool, 7100001, 3)
	const missing = int32(2_000_000_000)
	type vote struct {
		review int32
		key    string
	}
	votes := []vote{
		{ids[0], ""}, {ids[0], ""}, {ids[1], "share-a"}, {ids[1], "share-a"}, // the repeat counts nothing
		{ids[2], "share-b"}, {missing, "share-missing"}, {missing, ""}, {ids[0], "share-c"},
	}
	// Hold every slot, so that the votes queue; then free one.
	for range cap(s.votes.slots) {
		s.votes.slots <- struct{}{}
	}
	type answer struct {
		product int32
		stored  *Stored
		err     error
	}
	answers := make([]answer, len(votes))
	var wg sync.WaitGroup
	for i, v := range votes {
		wg.Go(func() {
			var k *IdempotencyKey
			if v.key != "" {
				k = &IdempotencyKey{Key: v.key, RequestHash: HelpfulRequest(v.review)}
			}
			p, st, err := s.MarkHelpful(t.Context(), v.review, k)
			answers[i] = answer{p, st, err}
		})
	}
	for s.votes.queued() < len(votes) {
		runtime.Gosched()
	}
	before := s.VoteBatchStats()
	for range cap(s.votes.slots) {
		<-s.votes.slots
	}
	wg.Wait()
	after := s.VoteBatchStats()
	if after.Statements-before.Statements < uint64(len(votes)) {
		t.Errorf("%d votes sent, want at least %d", after.Statements-before.Statements, len(votes))
	}
	// Everything fits in one statement but the repeated key, which waits
	// for the next: two statements, not eight.
	if n := after.Batches - before.Batches; n != 2 {
		t.Errorf("%d statements for %d queued votes, want 2", n, len(votes))
	}
	for i, v := range votes {
		a := answers[i]
		switch {
		case v.review == missing:
			if !errors.Is(a.err, ErrNotFound) {
				t.Errorf("vote %d on a missing review: %v, want ErrNotFound", i, a.err)
			}
		case a.err != nil:
			t.Errorf("vote %d: %v", i, a.err)
		case a.product != 7100001:
			t.Errorf("vote %d: product %d, want 7100001", i, a.product)
		}
	}
	// Exactly one of the two "share-a" votes got the stored row.
	if (answers[2].stored == nil) == (answers[3].stored == nil) {
		t.Errorf("key share-a twice: stored rows %v and %v, want exactly one replay", answers[2].stored, answers[3].stored)
	}
	got := votesOf(t, pool, ids)
	want := map[int32]int64{ids[0]: 3, ids[1]: 1, ids[2]: 1}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("review %d: %d votes, want %d", id, got[id], n)
		}
	}
	var keys int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM idempotency_keys WHERE key LIKE 'share-%'`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != 3 {
		t.Errorf("%d keys stored, want 3 (share-a, share-b, share-c; none for the missing review)", keys)
	}
}

// TestVotesConcurrentInstances: two stores (two instances) vote on the
// same few reviews in random orders with fresh keys, replays and no keys:
// every vote is answered without error (batches lock their reviews in id
// order, so they queue instead of deadlocking) and each review ends with
// exactly the votes that counted.
func TestVotesConcurrentInstances(t *testing.T) {
	pool := mustPool(t)
	pool2, err := pgxpool.New(t.Context(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer pool2.Close()
	stores := []*Store{New(pool), New(pool2)}
	ids := seedVoteReviews(t, pool, 7100002, 6)
	const workers, each = 16, 40
	var (
		mu   sync.Mutex
		want = map[int32]int64{}
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			s := stores[w%2]
			for i := range each {
				id := ids[r.IntN(len(ids))]
				var k *IdempotencyKey
				switch r.IntN(3) {
				case 0:
					k = &IdempotencyKey{Key: fmt.Sprintf("conc-%d-%d", w, i), RequestHash: HelpfulRequest(id)}
				case 1:
					// A key shared by the worker pair of both instances: one
					// of them counts.
					k = &IdempotencyKey{Key: fmt.Sprintf("pair-%d-%d-%d", w/2, i, id), RequestHash: HelpfulRequest(id)}
				}
				_, stored, err := s.MarkHelpful(context.Background(), id, k)
				if err != nil {
					t.Errorf("worker %d vote %d: %v", w, i, err)
					return
				}
				if stored == nil {
					mu.Lock()
					want[id]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	got := votesOf(t, pool, ids)
	for _, id := range ids {
		if got[id] != want[id] {
			t.Errorf("review %d: %d votes in the table, %d answered as counted", id, got[id], want[id])
		}
	}
	st := stores[0].VoteBatchStats()
	t.Logf("instance 1: %d votes in %d statements", st.Statements, st.Batches)
}

// TestVoteGivesUpWhileQueued: a vote whose context ends while it waits for
// a slot writes nothing and says so.
func TestVoteGivesUpWhileQueued(t *testing.T) {
	pool := mustPool(t)
	s := New(pool)
	ids := seedVoteReviews(t, pool, 7100003, 1)
	for range cap(s.votes.slots) {
		s.votes.slots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := s.MarkHelpful(ctx, ids[0], nil)
		done <- err
	}()
	for s.votes.queued() < 1 {
		runtime.Gosched()
	}
	cancel()
	err := <-done
	var we *WriteError
	if !errors.As(err, &we) || we.MaybeWritten || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled in the queue: %v, want a *WriteError saying nothing was written", err)
	}
	for range cap(s.votes.slots) {
		<-s.votes.slots
	}
	if s.votes.queued() != 0 {
		t.Errorf("the cancelled vote is still queued")
	}
	if got := votesOf(t, pool, ids); got[ids[0]] != 0 {
		t.Errorf("%d votes after a cancelled one, want 0", got[ids[0]])
	}
}
