package handlers

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/newrelic/go-agent/v3/newrelic"
	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/nrtxn"
	"github.com/catwalk/reviews/queries"
)

// txnStore is the real store, noting the New Relic transaction each write
// finds in its context (where the pgx tracer, nrpgx5, looks for it).
type txnStore struct {
	*queries.Store
	mu   sync.Mutex
	seen map[string]*newrelic.Transaction
}

func (s *txnStore) note(op string, ctx context.Context) {
	s.mu.Lock()
	s.seen[op] = newrelic.FromContext(ctx)
	s.mu.Unlock()
}

func (s *txnStore) CreateReview(ctx context.Context, r *queries.NewReview, k *queries.IdempotencyKey) (int32, *queries.Stored, error) {
	s.note("post", ctx)
	return s.Store.CreateReview(ctx, r, k)
}

func (s *txnStore) ReportReview(ctx context.Context, id int32) (int32, bool, error) {
	s.note("report", ctx)
	return s.Store.ReportReview(ctx, id)
}

// TestWritesCarryTheTransaction: POST and report run their statement on a
// context holding the request's New Relic transaction, so each is a
// datastore segment of it.
func TestWritesCarryTheTransaction(t *testing.T) {
	pool := mustPool(t)
	store := &txnStore{Store: queries.New(pool), seen: map[string]*newrelic.Transaction{}}
	app, err := nrtxn.Start("catwalk-test", "0123456789012345678901234567890123456789", newrelic.ConfigEnabled(false))
	if err != nil {
		t.Fatal(err)
	}
	defer nrtxn.Stop(app, 0)
	var txns []*newrelic.Transaction
	h := nrtxn.Wrap(app, New(store, nil, Config{}, nil).Router())
	do := func(method, uri, body string) int {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		if body != "" {
			ctx.Request.Header.SetContentType("application/json")
			ctx.Request.SetBodyString(body)
		}
		h(&ctx)
		txns = append(txns, newrelic.FromContext(&ctx))
		return ctx.Response.StatusCode()
	}
	p := mustProduct(t, pool, 1)
	if st := do("POST", "/reviews", p.reviewJSON()); st != 201 {
		t.Fatalf("POST: %d", st)
	}
	var id int64
	if err := pool.QueryRow(t.Context(), "SELECT max(id) FROM reviews WHERE product_id = $1", p.id).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if st := do("PUT", "/reviews/"+strconv.FormatInt(id, 10)+"/report", ""); st != 204 {
		t.Fatalf("PUT report: %d", st)
	}
	for i, op := range []string{"post", "report"} {
		if got := store.seen[op]; got == nil || got != txns[i] {
			t.Errorf("%s ran on transaction %p, want the request's %p", op, got, txns[i])
		}
	}
}
