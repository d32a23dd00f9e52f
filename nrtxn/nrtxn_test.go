package nrtxn

import (
	"runtime"
	"slices"
	"testing"

	"github.com/fasthttp/router"
	"github.com/newrelic/go-agent/v3/newrelic"
	"github.com/valyala/fasthttp"
)

// TestStartWithoutKey: no license key, no agent: nothing starts and the
// handler is returned as is.
func TestStartWithoutKey(t *testing.T) {
	before := runtime.NumGoroutine()
	app, err := Start("catwalk-reviews", "")
	if app != nil || err != nil {
		t.Fatalf("Start with no key = %v, %v; want nil, nil", app, err)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("Start with no key started %d goroutines", after-before)
	}
	called := false
	h := Wrap(nil, func(*fasthttp.RequestCtx) { called = true })
	h(&fasthttp.RequestCtx{})
	if !called {
		t.Error("Wrap(nil, h) does not call h")
	}
	Stop(nil, 0) // harmless
}

func TestStartFailure(t *testing.T) {
	if _, err := Start("", "0123456789012345678901234567890123456789"); err == nil {
		t.Error("Start with a key and no application name succeeded")
	}
}

// TestWrap: with an agent (disabled, so nothing leaves the machine) every
// request passes through unchanged.
func TestWrap(t *testing.T) {
	app, err := Start("catwalk-test", "0123456789012345678901234567890123456789", newrelic.ConfigEnabled(false))
	if err != nil {
		t.Fatal(err)
	}
	defer Stop(app, 0)
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.GET("/reviews/meta", func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		ctx.SetBodyString("ok")
	})
	h := Wrap(app, r.Handler)
	f := func(uri string, wantStatus int) {
		t.Helper()
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.Header.Set("X-Test", "1")
		ctx.Request.SetRequestURI(uri)
		h(&ctx)
		if got := ctx.Response.StatusCode(); got != wantStatus {
			t.Errorf("GET %s: %d, want %d", uri, got, wantStatus)
		}
	}
	f("/reviews/meta?product_id=1", 201)
	f("/missing", 404)
}

// TestTransactionInContext: the handler finds the request's transaction
// in its RequestCtx and in Context's detached context, where nrpgx5 looks.
func TestTransactionInContext(t *testing.T) {
	app, err := Start("catwalk-test", "0123456789012345678901234567890123456789", newrelic.ConfigEnabled(false))
	if err != nil {
		t.Fatal(err)
	}
	defer Stop(app, 0)
	var inCtx, detached *newrelic.Transaction
	h := Wrap(app, func(ctx *fasthttp.RequestCtx) {
		inCtx = newrelic.FromContext(ctx)
		detached = newrelic.FromContext(Context(ctx))
	})
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/reviews?product_id=1")
	h(&ctx)
	if inCtx == nil || detached != inCtx {
		t.Errorf("transaction in the RequestCtx %p, in Context %p; want the same, not nil", inCtx, detached)
	}
	// Without an agent: a plain background context.
	if c := Context(&fasthttp.RequestCtx{}); newrelic.FromContext(c) != nil || c.Done() != nil {
		t.Errorf("Context without a transaction: %v", c)
	}
}

// TestOnlyServerErrors: 4xx answers are not the transactions' errors,
// 5xx answers are.
func TestOnlyServerErrors(t *testing.T) {
	app, err := Start("catwalk-test", "0123456789012345678901234567890123456789", newrelic.ConfigEnabled(false))
	if err != nil {
		t.Fatal(err)
	}
	defer Stop(app, 0)
	cfg, ok := app.Config()
	if !ok {
		t.Fatal("no agent configuration")
	}
	ignored := cfg.ErrorCollector.IgnoreStatusCodes
	for _, code := range []int{400, 404, 405, 413, 422, 429, 431} {
		if !slices.Contains(ignored, code) {
			t.Errorf("%d is reported as an error", code)
		}
	}
	for code := 500; code < 600; code++ {
		if slices.Contains(ignored, code) {
			t.Errorf("%d is not reported as an error", code)
		}
	}
}
