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
	if r.AccessToken == "" {
		return nil, fmt.Errorf("the JSON has no access_token")
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return nil, fmt.Errorf("token_type %q: mail servers take Bearer tokens only", r.TokenType)
	}
	tok := &Token{AccessToken: secret.New(r.AccessToken), RefreshToken: secret.New(r.RefreshToken), Scope: r.Scope}
	if len(r.ExpiresIn) > 0 && string(r.ExpiresIn) != "null" {
		// Some providers send the number as a string.
		n, err := strconv.ParseInt(strings.Trim(string(r.ExpiresIn), `"`), 10, 64)
		if err != nil || n < 0 || n > 10*365*24*3600 {
			return nil, fmt.Errorf("expires_in %s is not a number of seconds", r.ExpiresIn)
		}
		tok.ExpiresIn = time.Duration(n) * time.Second
	}
	if err := CheckTokenText(tok.AccessToken.Reveal()); err != nil {
		return nil, fmt.Errorf("access_token %v", err)
	}
	if err := CheckTokenText(tok.RefreshToken.Reveal()); err != nil {
		return nil, fmt.Errorf("refresh_token %v", err)
	}
	return tok, nil
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
