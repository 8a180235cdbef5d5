package provider

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mailtokens/internal/secret"
)

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
func ParseTokenResponse(data []byte) (*Token, error) {
	var r tokenResponse
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a JSON token response: %v", err)
	}
	var expiresIn int64
	if len(r.ExpiresIn) > 0 && string(r.ExpiresIn) != "null" {
		// Some providers send the number as a string.
		n, err := strconv.ParseInt(strings.Trim(string(r.ExpiresIn), `"`), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expires_in %s is not a number of seconds", r.ExpiresIn)
		}
		expiresIn = n
	}
	if err := checkIssued(r.AccessToken, r.RefreshToken, r.TokenType, expiresIn); err != nil {
		return nil, err
	}
	return &Token{AccessToken: secret.New(r.AccessToken), RefreshToken: secret.New(r.RefreshToken), Scope: r.Scope,
		ExpiresIn: time.Duration(expiresIn) * time.Second}, nil
}

// maxExpiresIn is the longest access-token lifetime believed: a provider
// saying more is broken, not generous.
const maxExpiresIn = 10 * 365 * 24 * 3600

// checkIssued checks what a provider issued, pasted or received, the same
// way: an access token that can travel in a SASL exchange, a refresh token
// likewise, a Bearer type, and a lifetime that makes sense.
func checkIssued(access, refresh, tokenType string, expiresIn int64) error {
	if access == "" {
		return fmt.Errorf("the answer has no access_token")
	}
	if tokenType != "" && !strings.EqualFold(tokenType, "bearer") {
		return fmt.Errorf("token_type %q: mail servers take Bearer tokens only", tokenType)
	}
	if expiresIn < 0 || expiresIn > maxExpiresIn {
		return fmt.Errorf("expires_in %d is not a lifetime in seconds", expiresIn)
	}
	if err := CheckTokenText(access); err != nil {
		return fmt.Errorf("access_token %v", err)
	}
	if err := CheckTokenText(refresh); err != nil {
		return fmt.Errorf("refresh_token %v", err)
	}
	return nil
}

// CheckTokenText refuses what cannot be a bearer token (and would break
// the SASL exchange): blanks and control characters.
func CheckTokenText(s string) error {
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return fmt.Errorf("contains a space or control character")
		}
	}
	return nil
}
