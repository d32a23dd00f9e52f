package handlers

import (
	"strings"
	"testing"
)

// TestMethodsAreAdvertisedTruthfully: the Allow header of a 405 lists
// OPTIONS, so OPTIONS must answer, with the same Allow header.
func TestMethodsAreAdvertisedTruthfully(t *testing.T) {
	h := New(nil, nil, Config{}, nil).Router()
	f := func(path, wantAllow string) {
		t.Helper()
		resp := serve(h, "DELETE", path)
		if got := string(resp.Header.Peek("Allow")); resp.StatusCode() != 405 || got != wantAllow {
			t.Errorf("DELETE %s = %d Allow %q, want 405 Allow %q", path, resp.StatusCode(), got, wantAllow)
		}
		if !strings.HasPrefix(string(resp.Header.ContentType()), "application/json") || !strings.Contains(string(resp.Body()), `"error"`) {
			t.Errorf("DELETE %s: body %q is not a JSON error", path, resp.Body())
		}
		resp = serve(h, "OPTIONS", path)
		if got := string(resp.Header.Peek("Allow")); resp.StatusCode() != 204 || got != wantAllow || len(resp.Body()) != 0 {
			t.Errorf("OPTIONS %s = %d Allow %q body %q, want 204 Allow %q and no body", path, resp.StatusCode(), got, resp.Body(), wantAllow)
		}
	}
	f("/reviews", "GET, OPTIONS, POST")
	f("/reviews/meta", "GET, OPTIONS")
	f("/reviews/12/helpful", "OPTIONS, PUT")
	f("/reviews/12/report", "OPTIONS, PUT")
}
