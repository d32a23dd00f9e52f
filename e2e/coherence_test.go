package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catwalk/reviews/testdb"
)

// coherenceBound is the documented bound (README, "Cache coherence"):
// every other instance evicts a written product within a second.
const coherenceBound = time.Second

// TestCoherenceUnderLoad: while paced load through NGINX keeps every
// instance's cache full and writes flowing, a write sent straight to one
// instance (a new review, a vote, a report) shows in the cached answers of
// the two others within coherenceBound. The probes write only products the
// load reads but never writes, so no other write evicts them: only the
// writer's announcement can make the change visible elsewhere.
func TestCoherenceUnderLoad(t *testing.T) {
	const (
		loadProducts  = 6
		probeProducts = 4
		probes        = 15
	)
	pool := testdb.Pool(t)
	ctx := context.Background()
	// Fresh product ids on every run (-count=N shares the package database).
	var base int
	if err := pool.QueryRow(ctx, `SELECT greatest(coalesce(max(product_id), 0), 800000) + 1 FROM characteristics`).Scan(&base); err != nil {
		t.Fatal(err)
	}
	all := make([]int, loadProducts+probeProducts)
	for i := range all {
		all[i] = base + i
	}
	loadSet, probeSet := all[:loadProducts], all[loadProducts:]
	if _, err := pool.Exec(ctx, `INSERT INTO characteristics (product_id, name)
		SELECT p, n FROM unnest($1::int[]) p, unnest(ARRAY['Fit','Comfort']) n`, all); err != nil {
		t.Fatalf("seeding characteristics: %v", err)
	}
	chars := map[int][]int{}
	rows, err := pool.Query(ctx, `SELECT product_id, id FROM characteristics WHERE product_id = ANY($1) ORDER BY id`, all)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p, id int
		if err := rows.Scan(&p, &id); err != nil {
			t.Fatal(err)
		}
		chars[p] = append(chars[p], id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	c := startCluster(t)
	var seq atomic.Int64
	postBody := func(product int, summary string) string {
		var ch []string
		for i, id := range chars[product] {
			ch = append(ch, fmt.Sprintf(`"%d":%d`, id, 1+(i+int(seq.Load()))%5))
		}
		return fmt.Sprintf(`{"product_id":%d,"rating":%d,"summary":%q,"body":"%s","recommend":true,"name":"load","email":"load@example.com","characteristics":{%s}}`,
			product, 1+seq.Add(1)%5, summary, strings.Repeat("b", 60), strings.Join(ch, ","))
	}
	post := func(url string, product int, summary string) int {
		t.Helper()
		r := do(t, "POST", url, postBody(product, summary), "Content-Type", "application/json")
		if r.Status != 201 {
			t.Fatalf("POST %s (product %d): status %d, body %q", url, product, r.Status, r.Body)
		}
		var created struct {
			ReviewID int `json:"review_id"`
		}
		if err := json.Unmarshal([]byte(r.Body), &created); err != nil || created.ReviewID == 0 {
			t.Fatalf("POST %s: body %q", url, r.Body)
		}
		return created.ReviewID
	}
	// Three reviews per product, through NGINX: something to list, vote on
	// and report.
	reviews := map[int][]int{}
	for _, p := range all {
		for i := range 3 {
			reviews[p] = append(reviews[p], post(c.Nginx.URL("/reviews"), p, fmt.Sprintf("seed %d/%d", p, i)))
		}
	}

	// Background load: paced workers through NGINX, reads over every
	// product (so all three instances cache them), votes and POSTs on the
	// load products only. About 300 requests/s in all, stopped when the
	// probes are done (or after loadCap, whatever happens).
	const (
		workers = 6
		period  = 20 * time.Millisecond // per worker: 50 requests/s
		loadCap = 60 * time.Second
	)
	loadCtx, stopLoad := context.WithTimeout(ctx, loadCap)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopLoad()
	var (
		sent     atomic.Int64
		failed   atomic.Int64
		failMu   sync.Mutex
		failures []string
	)
	sorts := []string{"newest", "helpful", "relevant"}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(period)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-loadCtx.Done():
					return
				case <-tick.C:
				}
				p := all[(w+i)%len(all)]
				lp := loadSet[(w+i)%len(loadSet)]
				var method, path, body string
				want := 200
				switch i % 10 {
				case 0, 1, 2, 3, 4:
					method, path = "GET", fmt.Sprintf("/reviews?product_id=%d&sort=%s", p, sorts[i%len(sorts)])
				case 5, 6, 7:
					method, path = "GET", fmt.Sprintf("/reviews/meta?product_id=%d", p)
				case 8:
					method, path, want = "PUT", fmt.Sprintf("/reviews/%d/helpful", reviews[lp][i%len(reviews[lp])]), 204
				case 9:
					method, path, body, want = "POST", "/reviews", postBody(lp, "load"), 201
				}
				var rd io.Reader
				if body != "" {
					rd = strings.NewReader(body)
				}
				req, err := http.NewRequestWithContext(context.Background(), method, c.Nginx.URL(path), rd)
				if err != nil {
					panic(err)
				}
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				sent.Add(1)
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				if err != nil || status != want {
					failed.Add(1)
					failMu.Lock()
					if len(failures) < 10 {
						failures = append(failures, fmt.Sprintf("%s %s: status %d, err %v", method, path, status, err))
					}
					failMu.Unlock()
				}
			}
		}()
	}
	// Let the load fill the caches before probing.
	loadStart := time.Now()
	time.Sleep(500 * time.Millisecond)

	type review struct {
		ReviewID    int    `json:"review_id"`
		Summary     string `json:"summary"`
		Helpfulness int    `json:"helpfulness"`
	}
	type listed struct {
		Results []review `json:"results"`
	}
	// get reads the probe URL from one instance, directly.
	get := func(url string) listed {
		t.Helper()
		r := do(t, "GET", url, "")
		if r.Status != 200 {
			t.Fatalf("GET %s: status %d, body %q", url, r.Status, r.Body)
		}
		var l listed
		if err := json.Unmarshal([]byte(r.Body), &l); err != nil {
			t.Fatalf("GET %s: %v; body %q", url, err, r.Body)
		}
		return l
	}

	var delays []time.Duration
	for i := range probes {
		p := probeSet[i%len(probeSet)]
		writer := c.Instances[i%3]
		var others []*process
		for j, in := range c.Instances {
			if j != i%3 {
				others = append(others, in)
			}
		}
		path := fmt.Sprintf("/reviews?product_id=%d&sort=newest&count=100", p)
		// The others have the product's list cached: the second GET of
		// each is served from the cache the write must evict.
		for range 2 {
			for _, in := range others {
				get(in.URL(path))
			}
		}
		var (
			what    string
			visible func(listed) bool
		)
		switch i % 3 {
		case 0: // a new review with a summary never seen before
			summary := fmt.Sprintf("probe %d of %d", i, p)
			what = "POST " + summary
			post(writer.URL("/reviews"), p, summary)
			visible = func(l listed) bool {
				return slices.ContainsFunc(l.Results, func(r review) bool { return r.Summary == summary })
			}
		case 1: // a vote: the review's helpfulness goes up by one
			before := get(writer.URL(path))
			if len(before.Results) == 0 {
				t.Fatalf("product %d lists no review", p)
			}
			id, h := before.Results[0].ReviewID, before.Results[0].Helpfulness
			what = fmt.Sprintf("PUT helpful on review %d (helpfulness %d)", id, h)
			if r := do(t, "PUT", writer.URL(fmt.Sprintf("/reviews/%d/helpful", id)), ""); r.Status != 204 {
				t.Fatalf("%s: status %d, body %q", what, r.Status, r.Body)
			}
			visible = func(l listed) bool {
				for _, r := range l.Results {
					if r.ReviewID == id {
						return r.Helpfulness == h+1
					}
				}
				return false
			}
		case 2: // a report: the review leaves the list
			before := get(writer.URL(path))
			if len(before.Results) < 2 {
				t.Fatalf("product %d lists %d reviews, want 2 or more to report one", p, len(before.Results))
			}
			id := before.Results[len(before.Results)-1].ReviewID
			what = fmt.Sprintf("PUT report on review %d", id)
			if r := do(t, "PUT", writer.URL(fmt.Sprintf("/reviews/%d/report", id)), ""); r.Status != 204 {
				t.Fatalf("%s: status %d, body %q", what, r.Status, r.Body)
			}
			visible = func(l listed) bool {
				for _, r := range l.Results {
					if r.ReviewID == id {
						return false
					}
				}
				return true
			}
		}
		written := time.Now()
		// Poll both others every 10 ms; give up at 3 s so a failure
		// reports how late (or never) the change showed.
		seen := make([]time.Duration, len(others))
		for done := 0; done < len(others); {
			for j, in := range others {
				if seen[j] == 0 && visible(get(in.URL(path))) {
					seen[j] = time.Since(written)
					done++
				}
			}
			if done < len(others) && time.Since(written) > 3*time.Second {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		for j, in := range others {
			switch {
			case seen[j] == 0:
				t.Errorf("probe %d: %s through :%d: not visible on :%d after 3s (bound %s)", i, what, writer.Port, in.Port, coherenceBound)
			case seen[j] > coherenceBound:
				t.Errorf("probe %d: %s through :%d: visible on :%d after %s, over the %s bound", i, what, writer.Port, in.Port, seen[j], coherenceBound)
			}
			if seen[j] != 0 {
				delays = append(delays, seen[j])
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopLoad()
	wg.Wait()

	if n := sent.Load(); n < 200 {
		t.Errorf("the background load sent only %d requests: not under load", n)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d background requests failed, want none; first: %v", n, sent.Load(), failures)
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		t.Logf("%d probes, %d observations under %d background requests (%.0f/s): median %s, max %s",
			probes, len(delays), sent.Load(), float64(sent.Load())/time.Since(loadStart).Seconds(), delays[len(delays)/2], delays[len(delays)-1])
	}
}
