package provider

import (
	"strings"
	"testing"
	"time"
)

func TestParseTokenResponse(t *testing.T) {
	tok, err := ParseTokenResponse([]byte(`{"access_token":"at","refresh_token":"rt","expires_in":"3599","token_type":"Bearer","scope":"a b"}`))
	if err != nil || tok.AccessToken.Reveal() != "at" || tok.RefreshToken.Reveal() != "rt" || tok.ExpiresIn != 3599*time.Second || tok.Scope != "a b" {
		t.Fatalf("got %+v %v", tok, err)
	}
	for _, bad := range []struct{ in, want string }{
		{`not json`, "not a JSON token response"},
		{`{"refresh_token":"x"}`, "no access_token"},
		{`{"access_token":"a b"}`, "space or control"},
		{`{"access_token":"a","expires_in":-5}`, "expires_in"},
		{`{"access_token":"a","token_type":"mac"}`, "Bearer"},
	} {
		if _, err := ParseTokenResponse([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseTokenResponse(%s) = %v, want %q", bad.in, err, bad.want)
		}
	}
}

// FuzzParseTokenResponse: pasted input never panics, and what is accepted
// is a usable bearer token.
func FuzzParseTokenResponse(f *testing.F) {
	f.Add(`{"access_token":"at","refresh_token":"rt","expires_in":3599}`)
	f.Add(`{"access_token":"at","expires_in":"10"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, in string) {
		tok, err := ParseTokenResponse([]byte(in))
		if err != nil {
			return
		}
		if tok.AccessToken.IsZero() || CheckTokenText(tok.AccessToken.Reveal()) != nil || tok.ExpiresIn < 0 {
			t.Fatalf("accepted %q as %+v", in, tok)
		}
	})
}
