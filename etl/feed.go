package etl

import (
	"context"
	"errors"
)

// The characteristic values are copied while the reviews are still being
// copied: the reviews pass sends the reviews it keeps, in batches, to the
// characteristic_reviews pass, which checks each value as soon as the fate
// of its review is settled. While the kept review ids only grow (every
// export seen), a review id not kept when a later id has been kept never
// will be. When the reviews turn out not to be in order, the feed says so,
// and the values are copied again once every review is known.

// feedBatch is a run of kept reviews. Every review id up to upTo is settled.
type feedBatch struct {
	ids      []int32
	reviews  []signedProduct
	upTo     int32
	last     bool // the reviews pass has ended: every id is settled
	unsorted bool // the kept ids went down: nothing is settled before the end
}

// feedBatchSize is the number of kept reviews sent at a time; a variable
// for the tests.
var feedBatchSize = 4096

// errUnsorted makes the characteristic values wait for the whole reviews pass.
var errUnsorted = errors.New("reviews are not in id order")

// feedSender is the reviews pass's end of the feed.
type feedSender struct {
	ch   chan feedBatch
	b    feedBatch
	done bool
}

func newFeed() *feedSender { return &feedSender{ch: make(chan feedBatch, 256)} }

// kept records a kept review; upTo is the largest kept id so far.
func (f *feedSender) kept(ctx context.Context, id int32, r signedProduct) error {
	if f.done {
		return nil
	}
	f.b.ids = append(f.b.ids, id)
	f.b.reviews = append(f.b.reviews, r)
	f.b.upTo = id
	if len(f.b.ids) < feedBatchSize {
		return nil
	}
	return f.send(ctx)
}

func (f *feedSender) send(ctx context.Context) error {
	select {
	case f.ch <- f.b:
	case <-ctx.Done():
		return ctx.Err()
	}
	f.b = feedBatch{upTo: f.b.upTo}
	return nil
}

// unsorted tells the receiver to wait for the end; the feed stops.
func (f *feedSender) unsorted(ctx context.Context) error {
	if f.done {
		return nil
	}
	f.done = true
	f.b = feedBatch{unsorted: true}
	return f.send(ctx)
}

// end sends the last batch.
func (f *feedSender) end(ctx context.Context) error {
	if f.done {
		return nil
	}
	f.done = true
	f.b.last = true
	return f.send(ctx)
}

// feedReceiver is the characteristic_reviews pass's end: its own table of
// the kept reviews received so far.
type feedReceiver struct {
	ch      chan feedBatch
	reviews idTable[signedProduct]
	upTo    int32
	last    bool
}

// review returns what is known of review id once it is settled, waiting
// for the batch that settles it.
func (r *feedReceiver) review(ctx context.Context, id int32) (signedProduct, error) {
	for !r.last && id > r.upTo {
		var b feedBatch
		select {
		case b = <-r.ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		if b.unsorted {
			return 0, errUnsorted
		}
		for i, rid := range b.ids {
			r.reviews.set(rid, b.reviews[i])
		}
		r.upTo, r.last = b.upTo, b.last
	}
	return r.reviews.get(id), nil
}

// drain waits for the end of the reviews pass, so values checked early are
// known to be right: errUnsorted when the reviews turned out not in order.
func (r *feedReceiver) drain(ctx context.Context) error {
	for !r.last {
		if _, err := r.review(ctx, r.upTo+1); err != nil {
			return err
		}
		if r.upTo == 1<<31-1 {
			break
		}
	}
	return nil
}
