package cache

import (
	"regexp"
	"testing"
)

// TestETagStoredWithEntry: the ETag a fill returns is the one a hit
// returns (computed once, kept with the body), it is a quoted strong tag
// of RFC 9110's etagc characters, the same for the same bytes (every
// instance agrees) and different for different bytes, also while the
// cache is bypassed.
func TestETagStoredWithEntry(t *testing.T) {
	c := mustCache(t)
	k := Key{Kind: KindList, Product: 3, Page: 1, Count: 5}
	body := []byte(`{"product":"3","page":0,"count":5,"results":[]}`)
	filled, err := c.FillValue(k, func() ([]byte, error) { return body, nil })
	if err != nil {
		t.Fatal(err)
	}
	c.Wait()
	hit, ok := c.GetValue(k)
	if !ok {
		t.Fatal("GetValue missed after FillValue")
	}
	if hit.ETag != filled.ETag || string(hit.Body) != string(body) {
		t.Fatalf("hit %s %q, fill %s", hit.ETag[:], hit.Body, filled.ETag[:])
	}
	if want := Tag(body); hit.ETag != want {
		t.Fatalf("cached ETag %s, Tag(body) %s", hit.ETag[:], want[:])
	}
	if !regexp.MustCompile(`^"[A-Za-z0-9_-]{22}"$`).Match(hit.ETag[:]) {
		t.Fatalf("ETag %s is not a quoted 22-character tag", hit.ETag[:])
	}
	if Tag(append([]byte(nil), body...)) != Tag(body) {
		t.Fatal("Tag depends on more than the bytes")
	}
	changed := []byte(`{"product":"3","page":0,"count":5,"results":[1]}`)
	if Tag(changed) == Tag(body) {
		t.Fatal("two bodies share a tag")
	}
	c.SetBypass(true)
	v, err := c.FillValue(Key{Kind: KindMeta, Product: 4}, func() ([]byte, error) { return changed, nil })
	if err != nil || v.ETag != Tag(changed) {
		t.Fatalf("bypassed FillValue: %s, %v; want %s", v.ETag[:], err, Tag(changed))
	}
}
