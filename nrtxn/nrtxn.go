// Package nrtxn reports each request to New Relic as a web transaction.
// New Relic's Go agent has no fasthttp integration, so this small
// middleware starts and ends the transactions itself. Nothing of the agent
// runs unless a license key is configured.
package nrtxn

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/fasthttp/router"
	"github.com/newrelic/go-agent/v3/newrelic"
	"github.com/valyala/fasthttp"
)

// Start connects an agent for appName with licenseKey. With an empty key it
// returns nil and starts nothing: the caller skips Wrap and Stop.
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
	}, opts...)
	return newrelic.NewApplication(opts...)
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
		next(ctx)
		route, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
		if route == "" {
			route = "unmatched"
		}
		txn.SetName(method + " " + route)
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
