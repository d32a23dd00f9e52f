package queries

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// seedPostProducts gives each product two characteristics and returns
// their ids per product.
func seedPostProducts(t *testing.T, pool *pgxpool.Pool, products ...int32) map[int32][]int32 {
	t.Helper()
	out := map[int32][]int32{}
	for _, p := range products {
		rows, err := pool.Query(t.Context(), `INSERT INTO characteristics (product_id, name) VALUES ($1, 'Fit'), ($1, 'Length') RETURNING id`, p)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int32
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out[p] = append(out[p], id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func newReview(product int32, chars []int32, rating int16) *NewReview {
	return &NewReview{ProductID: product, Rating: rating, Summary: "s", Body: "a body of text", Recommend: true,
		Name: "n", Email: "e@x", CharacteristicIDs: chars, Values: []int16{3, 4}}
}

// productTotals: reviews of the product, and the counts its read models hold.
func productTotals(t *testing.T, pool *pgxpool.Pool, product int32) (reviews, meta, chars int64) {
	t.Helper()
	err := pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM reviews WHERE product_id = $1),
		(SELECT COALESCE(sum(rating_1 + rating_2 + rating_3 + rating_4 + rating_5), 0) FROM product_meta WHERE product_id = $1),
		(SELECT COALESCE(min(value_count), 0) FROM characteristics WHERE product_id = $1)`, product).Scan(&reviews, &meta, &chars)
	if err != nil {
		t.Fatal(err)
	}
	return
}

// TestPostsShareOneTransaction: reviews that wait while every slot is busy
// are written by one transaction, each with its own answer: ids, a
// mismatch, a product without characteristics, a replayed key (stored
// response) and a key repeated in the queue (written once).
func TestPostsShareOneTransaction(t *testing.T) {
	pool := mustPool(t)
	s := New(pool)
	chars := seedPostProducts(t, pool, 7200001, 7200002)
	key := func(k string) *IdempotencyKey { return &IdempotencyKey{Key: k, RequestHash: []byte("hash-" + k)} }
	type post struct {
		r   *NewReview
		key *IdempotencyKey
	}
	posts := []post{
		{newReview(7200002, chars[7200002], 5), nil},
		{newReview(7200001, chars[7200001], 4), key("post-a")},
		{newReview(7200001, chars[7200001], 3), key("post-a")}, // the repeat: the first's response
		{newReview(7200001, chars[7200002], 2), nil},           // another product's characteristics
		{newReview(7200009, nil, 1), nil},                      // no characteristics at all
		{newReview(7200002, chars[7200002], 1), key("post-b")},
	}
	for range cap(s.posts.slots) {
		s.posts.slots <- struct{}{}
	}
	type answer struct {
		id     int32
		stored *Stored
		err    error
	}
	answers := make([]answer, len(posts))
	var wg sync.WaitGroup
	for i, p := range posts {
		wg.Go(func() {
			id, st, err := s.CreateReview(t.Context(), p.r, p.key)
			answers[i] = answer{id, st, err}
		})
	}
	for s.posts.queued() < len(posts) {
		runtime.Gosched()
	}
	before := s.PostBatchStats()
	for range cap(s.posts.slots) {
		<-s.posts.slots
	}
	wg.Wait()
	after := s.PostBatchStats()
	// Everything in one transaction but the repeated key, which waits for
	// the next.
	if n := after.Batches - before.Batches; n != 2 {
		t.Errorf("%d transactions for %d queued reviews, want 2", n, len(posts))
	}
	for _, i := range []int{0, 5} {
		if answers[i].err != nil || answers[i].id == 0 || answers[i].stored != nil {
			t.Errorf("post %d: %+v, want a new id", i, answers[i])
		}
	}
	// The two with key post-a: whichever was queued first is written, the
	// other gets its stored 201.
	first, repeat := answers[1], answers[2]
	if first.stored != nil {
		first, repeat = repeat, first
	}
	if first.err != nil || first.id == 0 || first.stored != nil {
		t.Errorf("key post-a: %+v, want a new id", first)
	}
	if repeat.err != nil || repeat.stored == nil || repeat.stored.Status != 201 || repeat.id != 0 {
		t.Errorf("key post-a repeated: %+v, want the stored 201", repeat)
	} else if want := fmt.Sprintf(`{"review_id":%d}`, first.id); string(repeat.stored.Body) != want {
		t.Errorf("key post-a repeated: stored body %s, want %s", repeat.stored.Body, want)
	}
	if !errors.Is(answers[3].err, ErrCharacteristicsMismatch) {
		t.Errorf("another product's characteristics: %v, want ErrCharacteristicsMismatch", answers[3].err)
	}
	if !errors.Is(answers[4].err, ErrNoCharacteristics) {
		t.Errorf("no characteristics: %v, want ErrNoCharacteristics", answers[4].err)
	}
	for p, want := range map[int32]int64{7200001: 1, 7200002: 2} {
		if r, m, c := productTotals(t, pool, p); r != want || m != want || c != want {
			t.Errorf("product %d: %d reviews, meta counts %d, characteristics count %d; want %d each", p, r, m, c, want)
		}
	}
}

// TestPostsBatchFallsBackOneByOne: a review PostgreSQL rejects (a NUL in
// its text) rolls its batch back; every other review of the batch is then
// written alone, once, and only the bad one fails.
func TestPostsBatchFallsBackOneByOne(t *testing.T) {
	pool := mustPool(t)
	s := New(pool)
	chars := seedPostProducts(t, pool, 7200011)
	for range cap(s.posts.slots) {
		s.posts.slots <- struct{}{}
	}
	const n = 5
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := newReview(7200011, chars[7200011], 5)
			if i == 2 {
				r.Body = "nul \x00 byte"
			}
			_, _, errs[i] = s.CreateReview(t.Context(), r, nil)
		})
	}
	for s.posts.queued() < n {
		runtime.Gosched()
	}
	for range cap(s.posts.slots) {
		<-s.posts.slots
	}
	wg.Wait()
	for i, err := range errs {
		var pgErr *pgconn.PgError
		switch {
		case i == 2 && !errors.As(err, &pgErr):
			t.Errorf("the NUL review: %v, want PostgreSQL's error", err)
		case i != 2 && err != nil:
			t.Errorf("review %d: %v", i, err)
		}
	}
	if r, m, c := productTotals(t, pool, 7200011); r != n-1 || m != n-1 || c != n-1 {
		t.Errorf("%d reviews, meta counts %d, characteristics count %d; want %d each", r, m, c, n-1)
	}
}

// TestPostsConcurrentInstances: two stores (two instances) post to the
// same few products in random order: no error (batches lock products in
// order, never deadlocking), and each product's read models count exactly
// its reviews.
func TestPostsConcurrentInstances(t *testing.T) {
	pool := mustPool(t)
	pool2, err := pgxpool.New(t.Context(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer pool2.Close()
	stores := []*Store{New(pool), New(pool2)}
	products := []int32{7200021, 7200022, 7200023}
	chars := seedPostProducts(t, pool, products...)
	const workers, each = 12, 15
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 11))
			for i := range each {
				p := products[r.IntN(len(products))]
				var k *IdempotencyKey
				if i%2 == 0 {
					k = &IdempotencyKey{Key: fmt.Sprintf("conc-post-%d-%d", w, i), RequestHash: []byte("h")}
				}
				if _, _, err := stores[w%2].CreateReview(context.Background(), newReview(p, chars[p], int16(1+r.IntN(5))), k); err != nil {
					t.Errorf("worker %d post %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for _, p := range products {
		r, m, c := productTotals(t, pool, p)
		if m != r || c != r {
			t.Errorf("product %d: %d reviews, meta counts %d, characteristics count %d", p, r, m, c)
		}
		total += r
	}
	if total != workers*each {
		t.Errorf("%d reviews written, want %d", total, workers*each)
	}
	st := stores[0].PostBatchStats()
	t.Logf("instance 1: %d reviews in %d transactions", st.Statements, st.Batches)
}
