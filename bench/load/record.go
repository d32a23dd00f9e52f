package main

import (
	"bufio"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The -record flag writes one JSON line per request of the run, so that the
// fault drills (scripts/faults) can check afterwards, against the database,
// what every acknowledged write became, and when requests failed. With it,
// every POST carries its own Idempotency-Key and says in its body which run
// and key it belongs to (reviewer_name "load-<run id>", summary the key),
// so that a review stored without a 201, or stored twice, is found by SQL.
//
// The first line is {"op":"start","run_id":…}; then one Record per
// request, in the order the answers came. scripts/faults/count reads it.

// recordConfig is what the recording flags say.
type recordConfig struct {
	path        string
	runID       string
	helpfulKeys bool
}

func (c *recordConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "record", "", "write one JSON line per request to this file (op, status, ids, Idempotency-Key; see record.go), and mark every POST with the run id")
	fs.StringVar(&c.runID, "run-id", "", "with -record: the run's id, in every POST's Idempotency-Key and reviewer_name (default: random)")
	fs.BoolVar(&c.helpfulKeys, "helpful-keys", false, "with -record: send an Idempotency-Key with every PUT …/helpful too")
}

// Record is one line of the record file.
type Record struct {
	// Start is when the request was sent, Unix microseconds; Ms its time
	// until the answer (service time, not from its scheduled start).
	Start int64   `json:"t"`
	Ms    float64 `json:"ms"`
	Op    string  `json:"op"`
	// Status is the answer's status, 0 for a transport error (Err says
	// which kind).
	Status int    `json:"status"`
	Err    string `json:"err,omitempty"`
	// Product is the product of a POST; Review the review a PUT went to,
	// or the id a POST's 201 returned.
	Product int    `json:"product_id,omitempty"`
	Review  int    `json:"review_id,omitempty"`
	Key     string `json:"key,omitempty"`
	RunID   string `json:"run_id,omitempty"`
}

// recorder writes Records; safe for concurrent use.
type recorder struct {
	runID       string
	helpfulKeys bool
	seq         atomic.Int64

	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	err error
}

// maxRunID keeps "load-<run id>" and "<run id>-p<seq>" within the 60
// characters API.md allows a name and a summary.
const maxRunID = 32

func openRecorder(c recordConfig) (*recorder, error) {
	if c.path == "" {
		if c.runID != "" || c.helpfulKeys {
			return nil, errors.New("-run-id and -helpful-keys need -record")
		}
		return nil, nil
	}
	if c.runID == "" {
		var b [6]byte
		if _, err := crand.Read(b[:]); err != nil {
			return nil, err
		}
		c.runID = hex.EncodeToString(b[:])
	}
	if len(c.runID) > maxRunID {
		return nil, fmt.Errorf("-run-id must be at most %d characters", maxRunID)
	}
	for _, r := range c.runID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return nil, errors.New("-run-id may hold letters, digits, - and _ only")
		}
	}
	f, err := os.Create(c.path)
	if err != nil {
		return nil, err
	}
	r := &recorder{runID: c.runID, helpfulKeys: c.helpfulKeys, f: f, w: bufio.NewWriterSize(f, 1<<16)}
	r.write(&Record{Start: time.Now().UnixMicro(), Op: "start", RunID: c.runID})
	return r, nil
}

func (r *recorder) write(rec *Record) {
	b, err := json.Marshal(rec)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	if err != nil {
		r.err = err
		return
	}
	b = append(b, '\n')
	_, r.err = r.w.Write(b)
}

// Close flushes the file and returns the first error met while writing.
func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.w.Flush(); r.err == nil {
		r.err = err
	}
	if err := r.f.Close(); r.err == nil {
		r.err = err
	}
	return r.err
}

// marker is the reviewer_name of every review this run posts.
func (r *recorder) marker() string { return "load-" + r.runID }

// do sends one request of op as target.do does, and records it.
func (r *recorder) do(t *target, op string) (int, bool, error) {
	rec := Record{Op: op}
	var status int
	var err error
	var empty bool
	start := time.Now()
	switch op {
	case "post":
		if len(t.sample.products) == 0 {
			return 0, false, errors.New("no sampled product to post to")
		}
		p := t.sample.products[rand.IntN(len(t.sample.products))]
		rec.Product = p.id
		rec.Key = r.runID + "-p" + strconv.FormatInt(r.seq.Add(1), 10)
		status, err = t.send(
			func(req *fasthttp.Request) error { return r.buildPost(t, req, p, rec.Key) },
			func(status int, body []byte) error {
				if status != fasthttp.StatusCreated {
					return nil
				}
				var created struct {
					ReviewID int `json:"review_id"`
				}
				if err := json.Unmarshal(body, &created); err != nil {
					return fmt.Errorf("201 without a review id: %w", err)
				}
				rec.Review = created.ReviewID
				return nil
			})
	case "helpful", "report":
		if len(t.sample.reviews) == 0 {
			return 0, false, errors.New("no sampled review to vote on or report")
		}
		rec.Review = t.sample.reviews[rand.IntN(len(t.sample.reviews))]
		if op == "helpful" && r.helpfulKeys {
			rec.Key = r.runID + "-h" + strconv.FormatInt(r.seq.Add(1), 10)
		}
		status, err = t.send(func(req *fasthttp.Request) error {
			req.SetRequestURI(t.base + "/reviews/" + strconv.Itoa(rec.Review) + "/" + op)
			req.Header.SetMethod(fasthttp.MethodPut)
			if rec.Key != "" {
				req.Header.Set("Idempotency-Key", rec.Key)
			}
			return nil
		}, nil)
	default:
		status, err = t.send(func(req *fasthttp.Request) error { return t.build(req, op) }, emptyReader(op, &empty))
	}
	rec.Start = start.UnixMicro()
	rec.Ms = float64(time.Since(start).Microseconds()) / 1000
	rec.Status = status
	if err != nil {
		rec.Err = transportClass(err)
	}
	r.write(&rec)
	return status, empty, err
}

// buildPost is target.buildPost with the run's marks: the key as header
// and as summary, the run as reviewer_name.
func (r *recorder) buildPost(t *target, req *fasthttp.Request, p product, key string) error {
	chars := make(map[string]int, len(p.characteristics))
	for _, id := range p.characteristics {
		chars[strconv.Itoa(id)] = 1 + rand.IntN(5)
	}
	body, err := json.Marshal(map[string]any{
		"product_id":      p.id,
		"rating":          1 + rand.IntN(5),
		"summary":         key,
		"body":            reviewBodyText,
		"recommend":       rand.IntN(2) == 1,
		"name":            r.marker(),
		"email":           "loadtest@example.com",
		"photos":          []string{},
		"characteristics": chars,
	})
	if err != nil {
		return err
	}
	req.SetRequestURI(t.base + "/reviews")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Idempotency-Key", key)
	req.SetBodyRaw(body)
	return nil
}
