package handlers

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/cache"
)

// What a browser frontend needs besides the API's bodies: CORS, so a shop
// page on another origin may call the API, and conditional GETs, so a
// browser revalidating a page it holds gets a 304 without the body.

// Header names and fixed values, as byte slices so that setting them on
// the cache-hit path does not allocate (ResponseHeader.SetCanonical copies
// into the response's own buffers). Names are in fasthttp's canonical form
// ("Etag", as Go's net/http writes it too; names are case-insensitive), so
// that Peek finds them.
var (
	hdrETag        = []byte("Etag")
	hdrCacheCtl    = []byte("Cache-Control")
	hdrIfNoneMatch = []byte("If-None-Match")
	hdrOrigin      = []byte("Origin")
	hdrVary        = []byte("Vary")
	hdrAllow       = []byte("Allow")
	hdrACAO        = []byte("Access-Control-Allow-Origin")
	hdrACAM        = []byte("Access-Control-Allow-Methods")
	hdrACAH        = []byte("Access-Control-Allow-Headers")
	hdrACMA        = []byte("Access-Control-Max-Age")
	hdrACEH        = []byte("Access-Control-Expose-Headers")
	hdrACRM        = []byte("Access-Control-Request-Method")

	valStar = []byte("*")
	// corsAllowHeaders: the request headers a browser may send beyond the
	// CORS-safelisted ones: Content-Type (application/json is not a
	// "simple" type) and Idempotency-Key (POST, PUT …/helpful).
	corsAllowHeaders = []byte("Content-Type, Idempotency-Key")
	// corsExposeHeaders: the response headers of this API a script may
	// read beyond the safelisted ones (Cache-Control, Content-Type, …):
	// Retry-After of a 503, Allow of a 405, ETag of a GET.
	corsExposeHeaders = []byte("Allow, ETag, Retry-After")
	// corsMaxAge: how long (seconds) a browser may reuse a preflight's
	// answer. Chromium caps it at 2 hours, Firefox at 24: 2 hours, since
	// the allowed methods and headers change only with a release.
	corsMaxAge = []byte("7200")
)

// ParseOrigins reads CORS_ORIGINS: a comma-separated list of origins
// (scheme://host[:port], as browsers send them in Origin: lowercase, no
// path, no trailing slash, no default port), or "*" alone for any origin.
// Empty: no CORS (the default). A malformed entry is an error, so a typo
// fails the start rather than silently failing every browser call.
func ParseOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
			return nil, fmt.Errorf("CORS origin %q: want scheme://host[:port] (http or https, no path, no trailing slash)", o)
		}
		if o != strings.ToLower(o) {
			return nil, fmt.Errorf("CORS origin %q: write it in lowercase, as browsers send it", o)
		}
		if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
			return nil, fmt.Errorf("CORS origin %q: browsers omit the default port, leave it out", o)
		}
		out = append(out, o)
	}
	if len(out) > 1 && containsStar(out) {
		return nil, fmt.Errorf(`CORS origins %q: "*" allows every origin, it cannot be listed with others`, s)
	}
	return out, nil
}

func containsStar(origins []string) bool {
	for _, o := range origins {
		if o == "*" {
			return true
		}
	}
	return false
}

// cors answers browsers' cross-origin checks for the configured origins.
// The API takes no credentials (no cookies, no Authorization), so it never
// sends Access-Control-Allow-Credentials, and "*" is safe to offer.
type cors struct {
	any     bool
	origins [][]byte
}

func newCORS(origins []string) *cors {
	if len(origins) == 0 {
		return nil
	}
	c := &cors{}
	for _, o := range origins {
		if o == "*" {
			c.any = true
		}
		c.origins = append(c.origins, []byte(o))
	}
	return c
}

func (c *cors) allowed(origin []byte) bool {
	for _, o := range c.origins {
		if bytes.Equal(o, origin) {
			return true
		}
	}
	return false
}

// apply adds the CORS headers to a response the router (or ServerError)
// has made. With a list of origins, every answer says Vary: Origin, since
// whether it carries Access-Control-Allow-Origin depends on the Origin
// (a shared cache must not hand one origin's answer to another). A
// preflight (OPTIONS with Access-Control-Request-Method) on a route is
// answered as OPTIONS always is here (204 with Allow), plus the allowed
// methods (the route's Allow), headers and max age; an OPTIONS off the
// routes stays a 404 and fails the preflight. An origin not allowed gets
// no Access-Control-* header at all, which the browser enforces.
func (c *cors) apply(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	if !c.any {
		h.SetCanonical(hdrVary, hdrOrigin)
	}
	origin := ctx.Request.Header.PeekBytes(hdrOrigin)
	if len(origin) == 0 {
		return
	}
	if c.any {
		h.SetCanonical(hdrACAO, valStar)
	} else if c.allowed(origin) {
		h.SetCanonical(hdrACAO, origin)
	} else {
		return
	}
	if ctx.IsOptions() && len(ctx.Request.Header.PeekBytes(hdrACRM)) > 0 {
		if ctx.Response.StatusCode() == fasthttp.StatusNoContent {
			h.SetCanonical(hdrACAM, h.PeekBytes(hdrAllow))
			h.SetCanonical(hdrACAH, corsAllowHeaders)
			h.SetCanonical(hdrACMA, corsMaxAge)
		}
		return
	}
	h.SetCanonical(hdrACEH, corsExposeHeaders)
}

// noCache is the Cache-Control of a zero max age, and of a Config without
// CacheControl.
const noCache = "no-cache"

// CacheControl is the Cache-Control of both GETs' answers for a max age:
// "public, max-age=N" (the same for every client: no credentials, no
// personal data), or "no-cache" for 0 (browsers keep the body but
// revalidate it with If-None-Match each time). maxAge must be whole
// seconds, at least 0.
func CacheControl(maxAge time.Duration) (string, error) {
	if maxAge < 0 || maxAge%time.Second != 0 {
		return "", fmt.Errorf("cache-control max age %v: want whole seconds, 0 or more", maxAge)
	}
	if maxAge == 0 {
		return noCache, nil
	}
	return "public, max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10), nil
}

// writeCached answers a GET with a ready body: 304 without a body when
// the request's If-None-Match names the body's ETag (RFC 9110 13.1.2, weak
// comparison), else 200 with it. Both carry the ETag and Cache-Control,
// as RFC 9110 15.4.5 asks of a 304. Nothing here allocates.
func (h *Handler) writeCached(ctx *fasthttp.RequestCtx, v *cache.Value) {
	hdr := &ctx.Response.Header
	hdr.SetCanonical(hdrETag, v.ETag[:])
	hdr.SetCanonical(hdrCacheCtl, h.cacheControl)
	if inm := ctx.Request.Header.PeekBytes(hdrIfNoneMatch); len(inm) > 0 && etagListMatches(inm, v.ETag[:]) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	writeCachedBody(ctx, v.Body)
}

// etagListMatches reports whether an If-None-Match value matches tag (a
// quoted opaque tag): "*", or a comma-separated list of entity tags of
// which one has the same opaque tag, with or without W/ (weak comparison:
// NGINX turns the ETag of a body it gzips into W/"…", and the browser sends
// that back). A malformed list matches nothing from the fault on, so the
// client gets the full answer.
func etagListMatches(list, tag []byte) bool {
	for len(list) > 0 {
		switch list[0] {
		case ' ', '\t', ',':
			list = list[1:]
			continue
		case '*':
			return true
		}
		if len(list) >= 2 && list[0] == 'W' && list[1] == '/' {
			list = list[2:]
		}
		if len(list) == 0 || list[0] != '"' {
			return false
		}
		end := bytes.IndexByte(list[1:], '"')
		if end < 0 {
			return false
		}
		if bytes.Equal(list[:end+2], tag) {
			return true
		}
		list = list[end+2:]
	}
	return false
}
