package form

import (
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

// The paste form's inputs, and the identifiers of problems with them.
const (
	fieldJSON         = "json"
	fieldAccessToken  = "access_token"
	fieldRefreshToken = "refresh_token"
	fieldExpiresIn    = "expires_in"
)

// ReadPaste reads the paste form.
func ReadPaste(v url.Values) Paste {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return Paste{JSON: get(fieldJSON), AccessToken: get(fieldAccessToken), RefreshToken: get(fieldRefreshToken),
		ExpiresIn: get(fieldExpiresIn)}
}

// Token checks the paste form and returns the token, or the problems.
func (p Paste) Token() (*provider.Token, fielderr.List) {
	var errs fielderr.List
	if p.JSON != "" {
		tok, err := provider.ParseTokenResponse([]byte(p.JSON))
		if err != nil {
			errs.Add(fieldJSON, err.Error())
		}
		return tok, errs
	}
	if p.AccessToken == "" {
		errs.Add(fieldAccessToken, "is required (or paste the provider's whole JSON answer above)")
	} else if err := provider.CheckTokenText(p.AccessToken); err != nil {
		errs.Add(fieldAccessToken, err.Error())
	}
	if err := provider.CheckTokenText(p.RefreshToken); err != nil {
		errs.Add(fieldRefreshToken, err.Error())
	}
	tok := &provider.Token{AccessToken: secret.New(p.AccessToken), RefreshToken: secret.New(p.RefreshToken)}
	if p.ExpiresIn != "" {
		n, err := strconv.Atoi(p.ExpiresIn)
		if err != nil || n <= 0 {
			errs.Add(fieldExpiresIn, "must be a number of seconds, like 3600")
		}
		tok.ExpiresIn = time.Duration(n) * time.Second
	}
	return tok, errs
}
