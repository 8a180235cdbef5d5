package form

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
)

// Paste is the form for tokens obtained elsewhere: either the provider's
// JSON answer, or the fields one by one.
type Paste struct {
	JSON         string
	AccessToken  string
	RefreshToken string
	ExpiresIn    string // seconds
}

// ReadPaste reads the paste form.
func ReadPaste(v url.Values) Paste {
	return Paste{JSON: strings.TrimSpace(v.Get("json")), AccessToken: strings.TrimSpace(v.Get("access_token")),
		RefreshToken: strings.TrimSpace(v.Get("refresh_token")), ExpiresIn: strings.TrimSpace(v.Get("expires_in"))}
}

// tokenResponse is a standard OAuth2 token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	Scope        string          `json:"scope"`
	TokenType    string          `json:"token_type"`
}

// ParseTokenResponse reads a token response as JSON, as `evadmin token
// paste` takes it on stdin.
func ParseTokenResponse(data []byte) (*provider.Token, error) {
	var r tokenResponse
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a JSON token response: %v", err)
	}
	if r.AccessToken == "" {
		return nil, fmt.Errorf("the JSON has no access_token")
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return nil, fmt.Errorf("token_type %q: mail servers take Bearer tokens only", r.TokenType)
	}
	tok := &provider.Token{AccessToken: secret.New(r.AccessToken), RefreshToken: secret.New(r.RefreshToken), Scope: r.Scope}
	if len(r.ExpiresIn) > 0 && string(r.ExpiresIn) != "null" {
		// Some providers send the number as a string.
		n, err := strconv.ParseInt(strings.Trim(string(r.ExpiresIn), `"`), 10, 64)
		if err != nil || n < 0 || n > 10*365*24*3600 {
			return nil, fmt.Errorf("expires_in %s is not a number of seconds", r.ExpiresIn)
		}
		tok.ExpiresIn = time.Duration(n) * time.Second
	}
	if err := checkTokenText(tok.AccessToken.Reveal()); err != nil {
		return nil, fmt.Errorf("access_token %v", err)
	}
	if err := checkTokenText(tok.RefreshToken.Reveal()); err != nil {
		return nil, fmt.Errorf("refresh_token %v", err)
	}
	return tok, nil
}

// checkTokenText refuses what cannot be a bearer token (and would break
// the SASL exchange): blanks and control characters.
func checkTokenText(s string) error {
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return fmt.Errorf("contains a space or control character")
		}
	}
	return nil
}

// Token checks the paste form and returns the token, or the problems.
func (p Paste) Token() (*provider.Token, fielderr.List) {
	var errs fielderr.List
	if p.JSON != "" {
		tok, err := ParseTokenResponse([]byte(p.JSON))
		if err != nil {
			errs.Add("Token response", err.Error())
		}
		return tok, errs
	}
	if p.AccessToken == "" {
		errs.Add("Access token", "is required (or paste the provider's whole JSON answer above)")
	} else if err := checkTokenText(p.AccessToken); err != nil {
		errs.Add("Access token", err.Error())
	}
	if err := checkTokenText(p.RefreshToken); err != nil {
		errs.Add("Refresh token", err.Error())
	}
	tok := &provider.Token{AccessToken: secret.New(p.AccessToken), RefreshToken: secret.New(p.RefreshToken)}
	if p.ExpiresIn != "" {
		n, err := strconv.Atoi(p.ExpiresIn)
		if err != nil || n <= 0 {
			errs.Add("Expires in", "a number of seconds, like 3600")
		}
		tok.ExpiresIn = time.Duration(n) * time.Second
	}
	return tok, errs
}
