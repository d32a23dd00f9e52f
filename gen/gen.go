// Package gen writes a synthetic dataset in the exact format and shape of
// the four source CSV files (API.md, "Source data"): deterministic for a
// given seed, streamed chunk by chunk so memory stays flat, and optionally
// dirty, with bad rows of every kind the ETL must reject.
package gen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
)

// FullScale is the number of products in the real export.
const FullScale = 1_000_011

// Options configure a dataset.
type Options struct {
	Dir      string
	Products int     // products to generate (≥ 1)
	Seed     uint64  // same seed and options → byte-identical files
	Dirty    float64 // fraction of extra bad rows, 0 for a clean dataset
	// Progress, when not nil, is called after each chunk with the products
	// done so far and the rows written so far.
	Progress func(products, rows int64)
}

// Counts are the rows written per file, and the bad rows per file and kind.
type Counts struct {
	Reviews, Photos, Characteristics, CharacteristicReviews int64
	// Bad["reviews.csv"]["rating"] is how many bad rows of that kind were
	// written to that file (they are in the totals above too).
	Bad map[string]map[string]int64
}

// Rows is the total number of data rows written.
func (c *Counts) Rows() int64 {
	return c.Reviews + c.Photos + c.Characteristics + c.CharacteristicReviews
}

// BadTotal is the number of bad rows written to file.
func (c *Counts) BadTotal(file string) int64 {
	var n int64
	for _, v := range c.Bad[file] {
		n += v
	}
	return n
}

// WriteBad prints the bad rows written per file and kind, sorted.
func (c *Counts) WriteBad(w io.Writer) {
	for _, file := range files {
		kinds := make([]string, 0, len(c.Bad[file]))
		for k := range c.Bad[file] {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(w, "%-28s %-34s %10d\n", file, k, c.Bad[file][k])
		}
	}
}

var files = []string{"reviews.csv", "reviews_photos.csv", "characteristics.csv", "characteristic_reviews.csv"}

var headers = []string{
	"id,product_id,rating,date,summary,body,recommend,reported,reviewer_name,reviewer_email,response,helpfulness\n",
	"id,review_id,url\n",
	"id,product_id,name\n",
	"id,characteristic_id,review_id,value\n",
}

// chunkSize is the number of products one worker generates at a time.
const chunkSize = 2000

// Generate writes the four files into opt.Dir.
func Generate(opt Options) (*Counts, error) {
	if opt.Products < 1 {
		return nil, fmt.Errorf("gen: products must be at least 1, got %d", opt.Products)
	}
	if opt.Dirty < 0 || opt.Dirty > 0.5 {
		return nil, fmt.Errorf("gen: dirty must be within 0..0.5, got %g", opt.Dirty)
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, err
	}
	var ws [4]*bufio.Writer
	var fs [4]*os.File
	for i, name := range files {
		f, err := os.Create(filepath.Join(opt.Dir, name))
		if err != nil {
			for _, g := range fs[:i] {
				g.Close()
			}
			return nil, err
		}
		fs[i] = f
		ws[i] = bufio.NewWriterSize(f, 1<<20)
		ws[i].WriteString(headers[i])
	}
	counts := &Counts{Bad: map[string]map[string]int64{}}
	for _, f := range files {
		counts.Bad[f] = map[string]int64{}
	}

	// The coordinator works out each chunk's first ids from the structure
	// alone (cheap); workers then write the chunks' text in parallel; the
	// chunks are written out in order.
	nchunks := (opt.Products + chunkSize - 1) / chunkSize
	workers := max(runtime.GOMAXPROCS(0), 1)
	type job struct {
		c   *chunk
		out chan *chunk
	}
	jobs := make(chan job, workers)
	order := make(chan chan *chunk, workers*2)
	for range workers {
		go func() {
			for j := range jobs {
				j.c.generate(opt)
				j.out <- j.c
			}
		}()
	}
	go func() {
		var next ids
		next.review, next.photo, next.char, next.charRev = 1, 1, 1, 1
		for i := range nchunks {
			first := i*chunkSize + 1
			last := min(first+chunkSize-1, opt.Products)
			c := &chunk{first: first, last: last, start: next}
			next = c.plan(opt.Seed)
			out := make(chan *chunk, 1)
			order <- out
			jobs <- job{c, out}
		}
		close(jobs)
		close(order)
	}()
	var products int64
	for out := range order {
		c := <-out
		for i := range ws {
			ws[i].Write(c.buf[i])
		}
		counts.Reviews += c.rows[0]
		counts.Photos += c.rows[1]
		counts.Characteristics += c.rows[2]
		counts.CharacteristicReviews += c.rows[3]
		for i, m := range c.bad {
			for k, n := range m {
				counts.Bad[files[i]][k] += n
			}
		}
		products += int64(c.last - c.first + 1)
		if opt.Progress != nil {
			opt.Progress(products, counts.Rows())
		}
	}
	var ferr error
	for i := range ws {
		if err := ws[i].Flush(); err != nil && ferr == nil {
			ferr = err
		}
		if err := fs[i].Close(); err != nil && ferr == nil {
			ferr = err
		}
	}
	if ferr != nil {
		return nil, ferr
	}
	return counts, nil
}

// ids are the next id of each file.
type ids struct{ review, photo, char, charRev int64 }

// product is the structure of one product: which characteristic set, and
// how many photos each of its reviews has.
type product struct {
	set    int
	photos []int8 // per review
}

// structure draws product p's structure from its own random stream, so the
// coordinator and the worker agree on it without sharing state.
func structure(seed uint64, p int, r *rand.Rand, pcg *rand.PCG, dst *product) {
	pcg.Seed(seed, uint64(p)<<1)
	dst.set = pickSet(r)
	n := reviewCount(r)
	dst.photos = dst.photos[:0]
	for range n {
		dst.photos = append(dst.photos, int8(photoCount(r)))
	}
}

// reviewCount is skewed: most products have a handful of reviews, a few
// percent have dozens to hundreds (mean ≈ 5.77, as in the real export).
func reviewCount(r *rand.Rand) int {
	u := r.Float64()
	switch {
	case u < 0.55:
		return r.IntN(4)
	case u < 0.95:
		return 4 + r.IntN(9)
	default:
		// Pareto tail, capped.
		x := 12.9 * (math.Pow(1-r.Float64(), -1/1.5) - 1)
		return 13 + int(min(x, 987))
	}
}

// photoCount: about four reviews in ten have photos, mostly one.
func photoCount(r *rand.Rand) int {
	if r.Float64() >= 0.38 {
		return 0
	}
	u := r.Float64()
	switch {
	case u < 0.80:
		return 1
	case u < 0.95:
		return 2
	default:
		return 3
	}
}

// The characteristic sets of the real catalogue and how often each occurs
// (mean ≈ 3.35 characteristics per product).
var sets = [][]string{
	{"Fit", "Length", "Comfort", "Quality"},
	{"Size", "Width", "Comfort", "Quality"},
	{"Quality"},
	{"Fit", "Length", "Quality"},
	{"Comfort", "Quality"},
}

var setWeights = []float64{0.51, 0.12, 0.10, 0.19, 0.08}

func pickSet(r *rand.Rand) int {
	u := r.Float64()
	for i, w := range setWeights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(sets) - 1
}

// chunk is a run of consecutive products generated by one worker.
type chunk struct {
	first, last int
	start       ids
	buf         [4][]byte
	rows        [4]int64
	bad         [4]map[string]int64
}

// plan returns the ids following this chunk.
func (c *chunk) plan(seed uint64) ids {
	pcg := rand.NewPCG(0, 0)
	r := rand.New(pcg)
	next := c.start
	var p product
	for id := c.first; id <= c.last; id++ {
		structure(seed, id, r, pcg, &p)
		nr := int64(len(p.photos))
		next.review += nr
		for _, n := range p.photos {
			next.photo += int64(n)
		}
		next.char += int64(len(sets[p.set]))
		next.charRev += nr * int64(len(sets[p.set]))
	}
	return next
}
