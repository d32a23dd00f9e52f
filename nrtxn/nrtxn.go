// Package nrtxn reports each request to New Relic as a web transaction.
// New Relic's Go agent has no fasthttp integration, so this small
// middleware starts and ends the transactions itself. Nothing of the agent
// runs unless a license key is configured.
package nrtxn

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/fasthttp/router"
	"github.com/newrelic/go-agent/v3/newrelic"
	"github.com/valyala/fasthttp"
)

// Start connects an agent for appName with licenseKey. With an empty key it
// returns nil and starts nothing; the caller needs no test of its own, as
// Wrap and Stop take that nil and do nothing.
func Start(appName, licenseKey string, opts ...newrelic.ConfigOption) (*newrelic.Application, error) {
	if licenseKey == "" {
		return nil, nil
	}
	if appName == "" {
		return nil, errors.New("new relic: an application name is required")
	}
	opts = append([]newrelic.ConfigOption{
		newrelic.ConfigAppName(appName),
		newrelic.ConfigLicense(licenseKey),
		// Logs go through our own slog handler, not the agent.
		newrelic.ConfigAppLogForwardingEnabled(false),
		onlyServerErrors,
	}, opts...)
	return newrelic.NewApplication(opts...)
}

// onlyServerErrors makes 5xx answers the transactions' errors and 4xx
// answers not: a 400, 404 or 422 is the client's input refused as the API
// says, and counting them (the agent's default counts every status from
// 400 but 404) would bury the 5xx an operator must see.
func onlyServerErrors(cfg *newrelic.Config) {
	for code := 400; code < 500; code++ {
		if !slices.Contains(cfg.ErrorCollector.IgnoreStatusCodes, code) {
			cfg.ErrorCollector.IgnoreStatusCodes = append(cfg.ErrorCollector.IgnoreStatusCodes, code)
		}
	}
}

// txnKey is the user value holding a request's transaction: the string
// key newrelic.FromContext also looks under, so a fasthttp.RequestCtx
// (a context.Context whose Value is its user values) carries it.
const txnKey = "newRelicTransaction"

// Context returns a context detached from the request (the handlers run
// their statements on context.Background() on purpose: a client closing
// its connection must not cancel a write) that carries the request's
// transaction, if any, so the pgx tracer (newrelic nrpgx5, see server)
// records each statement as a datastore segment of it.
func Context(ctx *fasthttp.RequestCtx) context.Context {
	if txn, _ := ctx.UserValue(txnKey).(*newrelic.Transaction); txn != nil {
		return newrelic.NewContext(context.Background(), txn)
	}
	return context.Background()
}

// Stop flushes pending data for at most timeout; app may be nil.
func Stop(app *newrelic.Application, timeout time.Duration) {
	if app != nil {
		app.Shutdown(timeout)
	}
}

// Wrap returns next with each request reported to app as a transaction
// named "METHOD /route/pattern" (the pattern the router matched, so ids do
// not multiply transaction names). A nil app returns next unchanged.
func Wrap(app *newrelic.Application, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if app == nil {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		method := string(ctx.Method())
		txn := app.StartTransaction(method + " " + string(ctx.Path()))
		defer txn.End()
		txn.SetWebRequest(webRequest(ctx, method))
		ctx.SetUserValue(txnKey, txn)
		next(ctx)
		route, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
		if route == "" {
			route = "unmatched"
		}
		txn.SetName(method + " " + route)
		// The status makes a 5xx the transaction's error (onlyServerErrors).
		if rw := txn.SetWebResponse(nil); rw != nil {
			rw.WriteHeader(ctx.Response.StatusCode())
		}
	}
}

// webRequest copies what the agent reads of a request; ctx is not kept.
func webRequest(ctx *fasthttp.RequestCtx, method string) newrelic.WebRequest {
	h := http.Header{}
	ctx.Request.Header.VisitAll(func(k, v []byte) {
		h.Add(string(k), string(v))
	})
	u := &url.URL{
		Scheme:   string(ctx.URI().Scheme()),
		Host:     string(ctx.Host()),
		Path:     string(ctx.Path()),
		RawQuery: string(ctx.QueryArgs().QueryString()),
	}
	return newrelic.WebRequest{
		Header:    h,
		URL:       u,
		Method:    method,
		Host:      string(ctx.Host()),
		Transport: newrelic.TransportHTTP,
	}
}
