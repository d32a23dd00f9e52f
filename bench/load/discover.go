package main

import (
	"fmt"
	"strconv"
)

// The product range of a run is learnt from the service, not typed by a
// person: no route lists it, so discoverProducts probes GET /reviews/meta
// (k6/lib.js's discoverProducts does the same, in setup). A product "has
// data" when its meta shows ratings or characteristics; the datasets here
// (catwalk gen, the real export) number products 1..N, so the largest id
// with data is found by doubling, then by bisection. Each probe looks at
// discoverWindow ids from the one probed, so that a few missing products
// (a gap in the export) do not cut the range short.
const (
	discoverWindow = 8
	maxProductID   = 2147483647 // API.md: ids are 1..2³¹−1
)

// discoverProducts returns the largest product id with data (0: none) and
// the number of requests it took (a few hundred at most).
func (t *target) discoverProducts() (int, int, error) {
	requests := 0
	has := func(id int) (bool, error) {
		requests++
		var meta struct {
			Ratings         map[string]any `json:"ratings"`
			Characteristics map[string]any `json:"characteristics"`
		}
		if err := t.getJSON("/reviews/meta?product_id="+strconv.Itoa(id), &meta); err != nil {
			return false, fmt.Errorf("discovering the product range: %w", err)
		}
		return len(meta.Ratings) > 0 || len(meta.Characteristics) > 0, nil
	}
	// near reports whether any of id … id+window−1 has data.
	near := func(id int) (bool, error) {
		for i := id; i < id+discoverWindow && i <= maxProductID; i++ {
			if ok, err := has(i); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	ok, err := near(1)
	if err != nil || !ok {
		return 0, requests, err
	}
	lo, hi := 1, maxProductID+1 // near(lo), and nothing known at or past hi
	for x := 1024; x <= maxProductID; x *= 2 {
		ok, err := near(x)
		if err != nil {
			return 0, requests, err
		}
		if !ok {
			hi = x
			break
		}
		lo = x
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := near(mid)
		if err != nil {
			return 0, requests, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	// near(lo) and not near(lo+1): lo+1 … lo+window have no data, so lo has.
	return lo, requests, nil
}
