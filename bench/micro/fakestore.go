// Package micro holds the benchmarks that need no database (make bench):
// the handlers' parse-and-render paths over Store, an in-memory stand-in
// for queries.Store, and the response cache. They measure this process's
// own work per request — parsing, validation, JSON rendering, cache
// lookups — so that a change to it can be judged with benchstat
// (BENCHMARKS.md, "Judging a change") without PostgreSQL's noise.
package micro

import (
	"context"
	"strconv"
	"time"

	"github.com/catwalk/reviews/queries"
)

// Store answers the handlers' questions from memory, the same answer for
// the same product every time: product p has p%13 + 2 reviews (so page
// sizes matter), four characteristics, about half its reviews with
// photos. Writes succeed without storing anything. Safe for concurrent use.
type Store struct{}

var (
	summary  = []byte("Fits as expected, and the fabric holds up")
	body     = []byte("I wore it for a week of walking and it still looks new. The stitching is even, the colour did not run in the wash, and the size chart was right for me.")
	name     = []byte("shopper123")
	response = []byte("Thank you for your review!")
	photos   = []byte(`[{"id":1,"url":"https://images.example.com/p/1.jpg"},{"id":2,"url":"https://images.example.com/p/2.jpg"}]`)
	noPhotos = []byte(`[]`)
	date     = time.Date(2024, 3, 14, 9, 26, 53, 0, time.UTC)
)

// Reviews is the number of reviews product has.
func Reviews(product int32) int { return int(product%13) + 2 }

// ListReviews calls fn for the reviews of one page, reusing one Review as
// queries.Store does.
func (Store) ListReviews(ctx context.Context, product int32, sort queries.Sort, limit int32, offset int64, fn func(*queries.Review) error) error {
	var r queries.Review
	n := int64(Reviews(product))
	for i := offset; i < n && i < offset+int64(limit); i++ {
		r = queries.Review{
			ID:           product*16 + int32(i),
			Rating:       int16(i%5) + 1,
			Summary:      summary,
			Recommend:    i%3 != 0,
			Body:         body,
			Date:         date.Add(-time.Duration(i) * time.Hour),
			ReviewerName: name,
			Helpfulness:  int32(i * 7 % 31),
			Photos:       noPhotos,
		}
		if i%2 == 0 {
			r.Photos = photos
		}
		if i%4 == 0 {
			r.Response = response
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

var characteristics = []string{"Fit", "Length", "Comfort", "Quality"}

// ProductMeta returns the product's aggregates.
func (Store) ProductMeta(ctx context.Context, product int32) (queries.Meta, error) {
	m := queries.Meta{Ratings: [5]int32{1, 0, 2, 5, 9}, Recommended: [2]int32{3, 14}}
	for i, c := range characteristics {
		m.Characteristics = append(m.Characteristics, queries.Characteristic{
			ID: product*4 + int32(i), Name: c, Sum: int64(17 * (i + 2)), Count: 17,
		})
	}
	return m, nil
}

// CreateReview accepts the review and returns a new id.
func (Store) CreateReview(ctx context.Context, r *queries.NewReview, key *queries.IdempotencyKey) (int32, *queries.Stored, error) {
	return r.ProductID*16 + 15, nil, nil
}

// MarkHelpful returns the review's product.
func (Store) MarkHelpful(ctx context.Context, reviewID int32, key *queries.IdempotencyKey) (int32, *queries.Stored, error) {
	return reviewID / 16, nil, nil
}

// ReportReview returns the review's product, visible until now.
func (Store) ReportReview(ctx context.Context, reviewID int32) (int32, bool, error) {
	return reviewID / 16, true, nil
}

// Ready always succeeds.
func (Store) Ready(ctx context.Context) error { return nil }

// CharacteristicsBody is the "characteristics" of a valid POST for product.
func CharacteristicsBody(product int32) string {
	s := "{"
	for i := range characteristics {
		if i > 0 {
			s += ","
		}
		s += `"` + strconv.Itoa(int(product)*4+i) + `":` + strconv.Itoa(i%5+1)
	}
	return s + "}"
}
