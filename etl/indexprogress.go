package etl

import (
	"context"
	"strings"
	"sync"
	"time"
)

// watchIndexes shows the index builds of a table as a bar, from
// pg_stat_progress_create_index of the backend pid: n indexes, each one
// unit of 1000 split by the heap blocks scanned; rows are the tuples sorted.
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
		seen := map[string]int64{} // index → tuples done
		var order []string
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var blocksDone, blocksTotal, tuples int64
			var index string
			err := l.pool.QueryRow(ctx, `SELECT coalesce(blocks_done, 0), coalesce(blocks_total, 0),
				coalesce(tuples_done, 0), coalesce(index_relid::regclass::text, '')
				FROM pg_stat_progress_create_index WHERE pid = $1`, pid).Scan(&blocksDone, &blocksTotal, &tuples, &index)
			if err != nil || index == "" {
				continue // between two indexes, or the table's transaction ended
			}
			if _, ok := seen[index]; !ok {
				order = append(order, index)
			}
			seen[index] = max(seen[index], tuples)
			frac := 0.0
			if blocksTotal > 0 {
				frac = min(float64(blocksDone)/float64(blocksTotal), 1)
			}
			var rows int64
			for _, v := range seen {
				rows += v
			}
			bar.Set(int64(len(order)-1)*1000+int64(frac*1000), rows)
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		bar.Set(int64(n)*1000, bar.rows.Load())
		bar.Done()
	}
}

// countStatements counts the statements of a schema/etl file.
func countStatements(sql string) int {
	n := 0
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(line, "CREATE ") || strings.HasPrefix(line, "ALTER ") {
			n++
		}
	}
	return n
}
