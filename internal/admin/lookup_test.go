package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTokenRoutesRefuseUnknownIDs walks the route table: every
// /tokens/{id} route answers 404 for an id that is not a number or names
// no token, before its handler runs.
func TestTokenRoutesRefuseUnknownIDs(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	csrf := b.csrf()
	routes := 0
	for _, rt := range h.srv.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if !strings.HasPrefix(path, "/tokens/{id}") {
			continue
		}
		routes++
		for id, want := range map[string]string{
			"abc": "There is no page at this address.",
			"0":   "There is no page at this address.",
			"999": "This token does not exist (any more).",
		} {
			p := strings.Replace(path, "{id}", id, 1)
			var r response
			if method == http.MethodPost {
				r = b.do(method, p, url.Values{"csrf": {csrf}})
			} else {
				r = b.get(p)
			}
			if r.status != http.StatusNotFound || !strings.Contains(r.body, want) {
				t.Errorf("%s %s: %d %q, want 404 %q", method, p, r.status, text(r.body), want)
			}
		}
	}
	if routes == 0 {
		t.Fatal("no /tokens/{id} routes in the route table")
	}
}
