package micro

import (
	"testing"
	"time"

	"github.com/catwalk/reviews/cache"
)

func newCache(b *testing.B) *cache.Cache {
	c, err := cache.New(64<<20, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

var page = make([]byte, 2048) // about a list page of five reviews

func BenchmarkCache(b *testing.B) {
	b.Run("op=get-hit", func(b *testing.B) {
		c := newCache(b)
		k := cache.Key{Kind: cache.KindList, Sort: 1, Product: 42, Page: 1, Count: 5}
		if _, err := c.Fetch(k, func() ([]byte, error) { return page, nil }); err != nil {
			b.Fatal(err)
		}
		c.Wait()
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := c.Get(k); !ok {
				b.Fatal("miss on a stored key")
			}
		}
	})
	b.Run("op=fetch-miss", func(b *testing.B) {
		c := newCache(b)
		b.ReportAllocs()
		i := uint32(0)
		for b.Loop() {
			i++
			k := cache.Key{Kind: cache.KindMeta, Product: i}
			if _, err := c.Fetch(k, func() ([]byte, error) { return page[:600], nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=invalidate", func(b *testing.B) {
		c := newCache(b)
		b.ReportAllocs()
		i := uint32(0)
		for b.Loop() {
			i++
			c.InvalidateProduct(i)
		}
	})
}
