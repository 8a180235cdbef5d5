package provider

import "testing"

// Endpoint URLs are parsed strictly, because their origins go into the
// pages' Content-Security-Policy: an Authorization URL such as
// "https://x.example;sandbox/auth" broke every admin's token list, and
// "https://*/auth" widened form-action to any origin.
func TestEndpointURLs(t *testing.T) {
	for u, origin := range map[string]string{
		"https://login.microsoftonline.com/common/oauth2/v2.0/authorize": "https://login.microsoftonline.com",
		"https://Login.Example.COM:8443/auth?x=1":                        "https://login.example.com:8443",
		"http://127.0.0.1:9000/token":                                    "http://127.0.0.1:9000",
		"http://[::1]:9000/token":                                        "http://[::1]:9000",
		"https://idp.example./auth":                                      "https://idp.example.",
	} {
		if msg := checkURL(u); msg != "" {
			t.Errorf("checkURL(%q) = %q, want accepted", u, msg)
		}
		if got := Origin(u); got != origin {
			t.Errorf("Origin(%q) = %q, want %q", u, got, origin)
		}
	}
	for _, u := range []string{
		"https://x.example;sandbox/auth",
		"https://*/auth",
		"https://x.example:99999/auth",
		"https://x.example:0/auth",
		"https://x.example/a b",
		"https://x.example/a\"b",
		"https://x.example/a\tb",
		"https://x.example/a\r\nSet-Cookie: x",
		"https://x.example/auth#frag",
		"https://user:pw@x.example/auth",
		"https://-x.example/auth",
		"https://x_y.example/auth",
		"https:///auth",
		"ftp://x.example/auth",
		"x.example/auth",
		"http://x.example/auth", // plain http only to this machine
		"https://x.example/a'b;script-src *",
	} {
		if checkURL(u) == "" {
			t.Errorf("checkURL(%q) accepted it", u)
		}
		if o := Origin(u); o != "" && u != "http://x.example/auth" {
			t.Errorf("Origin(%q) = %q, want none", u, o)
		}
	}
}
