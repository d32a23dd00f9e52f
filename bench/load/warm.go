package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// warmHot reads every product of the scenario's hot set once per cache key
// the mix reads (GET /reviews in each sort when the mix lists, GET
// /reviews/meta when it reads meta), conns at a time, before the measured
// run, so that the run meets the caches a shop that has been serving for a
// while has: the hot set of a million-product shop is 200,000 cache keys,
// more than a run of a minute reads even once. Nothing of it is counted.
// It returns the requests sent; any answer but 200 fails it.
func warmHot(ctx context.Context, t *target, mix []Weighted, conns int) (int64, error) {
	if t.hotSize == 0 {
		return 0, nil
	}
	var paths []string
	for _, w := range mix {
		switch w.Op {
		case "list":
			for _, s := range sorts {
				paths = append(paths, "/reviews?sort="+s+"&product_id=")
			}
		case "meta":
			paths = append(paths, "/reviews/meta?product_id=")
		}
	}
	if len(paths) == 0 {
		return 0, nil
	}
	var (
		next    atomic.Int64 // index into hot products × paths
		sent    atomic.Int64
		failure atomic.Pointer[error]
		wg      sync.WaitGroup
	)
	total := int64(t.hotSize) * int64(len(paths))
	for range max(1, conns) {
		wg.Go(func() {
			for ctx.Err() == nil && failure.Load() == nil {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				id := 1 + int(i/int64(len(paths)))*t.hotStride
				path := paths[i%int64(len(paths))]
				status, err := t.send(func(req *fasthttp.Request) error {
					req.SetRequestURI(t.base + path + strconv.Itoa(id))
					return nil
				}, nil)
				sent.Add(1)
				if err == nil && status != fasthttp.StatusOK {
					err = fmt.Errorf("GET %s%d answered %d", path, id, status)
				}
				if err != nil {
					err = fmt.Errorf("warm-up: %w", err)
					failure.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if p := failure.Load(); p != nil {
		return sent.Load(), *p
	}
	return sent.Load(), ctx.Err()
}

// warmHotTimed runs warmHot and says what it did.
func warmHotTimed(ctx context.Context, t *target, mix []Weighted, conns int, say func(format string, args ...any)) error {
	start := time.Now()
	n, err := warmHot(ctx, t, mix, conns)
	if err == nil && n > 0 {
		say("warm-up: read the %d hot products' %d cache keys in %.1fs\n", t.hotSize, n, time.Since(start).Seconds())
	}
	return err
}
