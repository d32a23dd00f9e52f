package handlers

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

// The generic-plan setting of queries.Store.CreateReview is local to its transaction: the
// pooled connection goes back as it came.
func TestStoreCreateReviewLeavesTheSessionAlone(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	product := 700_000_000 + rand.Int32N(100_000_000) // a product of this run alone
	var c1 int32
	if err := pool.QueryRow(ctx, "INSERT INTO characteristics (product_id, name) VALUES ($1, 'Fit') RETURNING id", product).Scan(&c1); err != nil {
		t.Fatal(err)
	}
	s := queries.New(pool)
	r := &queries.NewReview{ProductID: product, Rating: 3, Body: "b", Name: "n", Email: "a@b",
		CharacteristicIDs: []int32{c1}, Values: []int16{2}}
	id, stored, err := s.CreateReview(ctx, r, nil)
	if err != nil || id < 1 || stored != nil {
		t.Fatalf("CreateReview = %d, %v, %v", id, stored, err)
	}
	var mode string
	if err := pool.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil || mode != "auto" {
		t.Fatalf("plan_cache_mode after CreateReview = %q, %v; want auto", mode, err)
	}
	// A failing statement rolls back the whole batch.
	r.CharacteristicIDs = []int32{c1 + 1000}
	if _, _, err := s.CreateReview(ctx, r, nil); err != queries.ErrCharacteristicsMismatch {
		t.Fatalf("CreateReview with another product's characteristic = %v", err)
	}
	if err := pool.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil || mode != "auto" {
		t.Fatalf("plan_cache_mode = %q, %v; want auto", mode, err)
	}
}
