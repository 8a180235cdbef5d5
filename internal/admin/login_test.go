package admin

import "testing"

// After login the browser goes back where it came from, but only to a
// plain path on this site: browsers drop tabs and newlines from URLs, so
// "/\t/evil.example/x" becomes "//evil.example/x", another site.
func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"":                      "/",
		"/tokens/3":             "/tokens/3",
		"/tokens/3?tab=events":  "/tokens/3?tab=events",
		"//evil.example/x":      "/",
		"/\\evil.example/x":     "/",
		"/\t/evil.example/x":    "/",
		"/\n/evil.example/x":    "/",
		"/\r/evil.example/x":    "/",
		"/\x00/x":               "/",
		"/\x7f/x":               "/",
		"/ /evil.example":       "/",
		"https://evil.example/": "/",
		"evil.example":          "/",
		"/x\\y":                 "/",
		"/\u2028/evil.example":  "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
