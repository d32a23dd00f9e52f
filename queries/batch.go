package queries

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pending is what every queued write of a writePipe carries.
type pending struct {
	ctx context.Context
	// key is the request's Idempotency-Key ("" for none): a batch never
	// holds two writes with the same key.
	key   string
	err   error
	taken bool // by a leader; guarded by writePipe.mu
	done  chan struct{}
}

func (p *pending) base() *pending { return p }

// writePipe turns the writes of one kind that arrive while earlier ones are
// on their way into one batch, one transaction and one commit, the way the
// read pipe batches reads: a write that finds a free slot leads at once
// (alone at low load, so it waits for nothing), and the writes queued
// behind it leave together with the next leader. Every write pays for a
// durable commit, so folding N writes into one transaction makes one WAL
// flush and one round trip of N, and N writes to one hot row one lock
// holder instead of a queue of N commits.
type writePipe[J interface{ base() *pending }] struct {
	slots chan struct{}
	max   int
	// send runs a batch and answers each job (sets its results and err);
	// the pipe then signals them.
	send func(ctx context.Context, batch []J)

	mu    sync.Mutex
	queue []J

	batches, jobs atomic.Uint64
}

// DefaultWritePipelines is how many batches of one kind of write may be in
// flight at once unless told otherwise: as for reads, the CPUs this
// process may use, at least 2.
func DefaultWritePipelines() int { return max(2, runtime.GOMAXPROCS(0)) }

func newWritePipe[J interface{ base() *pending }](slots, maxBatch int, send func(ctx context.Context, batch []J)) *writePipe[J] {
	if slots < 1 {
		slots = DefaultWritePipelines()
	}
	return &writePipe[J]{slots: make(chan struct{}, slots), max: maxBatch, send: send}
}

// do queues j and returns once it is answered. A job whose context ends
// while it waits in the queue returns a *WriteError that says nothing was
// sent; once a leader has taken it, it waits for its batch's outcome
// (bounded by the latest deadline of the batch's jobs).
func (p *writePipe[J]) do(j J) error {
	b := j.base()
	b.done = make(chan struct{}, 1)
	p.mu.Lock()
	p.queue = append(p.queue, j)
	p.mu.Unlock()
	for {
		select {
		case <-b.done:
			return b.err
		case p.slots <- struct{}{}:
			p.lead()
			<-p.slots
			p.mu.Lock()
			taken := b.taken
			p.mu.Unlock()
			if taken {
				<-b.done
				return b.err
			}
			// Still queued (behind a full batch, or its key is in the batch
			// that just left): contend again.
		case <-b.ctx.Done():
			p.mu.Lock()
			if !b.taken {
				p.remove(j)
				p.mu.Unlock()
				return &WriteError{Err: b.ctx.Err()}
			}
			p.mu.Unlock()
			<-b.done
			return b.err
		}
	}
}

func (p *writePipe[J]) remove(j J) {
	for i, q := range p.queue {
		if q.base() == j.base() {
			copy(p.queue[i:], p.queue[i+1:])
			var zero J
			p.queue[len(p.queue)-1] = zero
			p.queue = p.queue[:len(p.queue)-1]
			return
		}
	}
}

// take moves up to max queued jobs into a batch, oldest first, never two
// with the same key (a repeat waits for the next batch, where it finds the
// key stored).
func (p *writePipe[J]) take() []J {
	p.mu.Lock()
	defer p.mu.Unlock()
	batch := make([]J, 0, min(len(p.queue), p.max))
	rest := p.queue[:0]
	for _, j := range p.queue {
		if len(batch) == p.max || (j.base().key != "" && hasKey(batch, j.base().key)) {
			rest = append(rest, j)
			continue
		}
		j.base().taken = true
		batch = append(batch, j)
	}
	clear(p.queue[len(rest):])
	p.queue = rest
	return batch
}

func hasKey[J interface{ base() *pending }](batch []J, key string) bool {
	for _, j := range batch {
		if j.base().key == key {
			return true
		}
	}
	return false
}

// lead sends one batch and answers its jobs. The caller holds a slot.
func (p *writePipe[J]) lead() {
	batch := p.take()
	if len(batch) == 0 {
		return
	}
	p.batches.Add(1)
	p.jobs.Add(uint64(len(batch)))
	// The batch runs until the latest of its jobs' deadlines: one client
	// giving up must not fail the others.
	ctx := context.Background()
	var latest time.Time
	for _, j := range batch {
		d, ok := j.base().ctx.Deadline()
		if !ok {
			latest = time.Time{}
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	if !latest.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, latest)
		defer cancel()
	}
	p.send(ctx, batch)
	for _, j := range batch {
		j.base().done <- struct{}{}
	}
}

func (p *writePipe[J]) stats() BatchStats {
	return BatchStats{Batches: p.batches.Load(), Statements: p.jobs.Load()}
}
