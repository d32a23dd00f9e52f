package etl

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/catwalk/reviews/schema"
)

// watchIndexes shows the index builds of a table as a bar, from
// pg_stat_progress_create_index of the backend pid: n indexes, each 1000
// units, half for the heap scan and half for loading the sorted tuples;
// rows are the tuples indexed.
// It returns the function that ends the bar.
func (l *loader) watchIndexes(ctx context.Context, name string, pid uint32, n int) (stop func()) {
	if l.opt.Progress == nil || n == 0 {
		return func() {}
	}
	bar := l.display.Start(name+": indexes", int64(n)*1000)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		// A non-concurrent CREATE INDEX reports no index OID: a new index
		// is a new heap scan after the previous one's loading.
		var idx int
		var units, rowsBefore, rowsNow int64
		var last string
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var blocksDone, blocksTotal, tuplesDone, tuplesTotal int64
			var phase string
			err := l.pool.QueryRow(ctx, schema.ETLIndexProgress, pid).
				Scan(&blocksDone, &blocksTotal, &tuplesDone, &tuplesTotal, &phase)
			if err != nil {
				continue // between two indexes, or the table's transaction ended
			}
			scanning := strings.Contains(phase, "scanning table") || strings.Contains(phase, "initializing")
			if scanning && last != "" && !strings.Contains(last, "scanning table") && !strings.Contains(last, "initializing") {
				idx++
				rowsBefore += rowsNow
				rowsNow = 0
			}
			last = phase
			// Half the build is the heap scan, half loading the sorted tuples.
			frac := 0.0
			switch {
			case strings.Contains(phase, "scanning table") && blocksTotal > 0:
				frac = 0.5 * float64(blocksDone) / float64(blocksTotal)
			case strings.Contains(phase, "sorting"):
				frac = 0.5
			case strings.Contains(phase, "loading tuples") && tuplesTotal > 0:
				frac = 0.5 + 0.5*float64(tuplesDone)/float64(tuplesTotal)
				rowsNow = tuplesDone
			}
			units = max(units, int64(min(idx, n-1))*1000+int64(min(frac, 1)*1000))
			rows := rowsBefore + rowsNow
			bar.Set(units, rows)
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		bar.SetUnits(int64(n) * 1000)
		bar.Done()
	}
}
