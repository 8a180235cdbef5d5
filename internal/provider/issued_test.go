package provider

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mailtokens/internal/advice"
)

// What a provider issues on refresh (and every other flow) is checked as
// a pasted token response is: an access token with a space, a control
// character or CRLF would break the SASL exchange, another token type is
// not for mail, and an absurd lifetime is a broken answer. Each used to be
// stored as a valid token.
func TestIssuedTokensAreChecked(t *testing.T) {
	for name, body := range map[string]string{
		"space":         `{"access_token":"abc def","token_type":"Bearer","expires_in":3600}`,
		"crlf":          `{"access_token":"abc\r\nA1 LOGOUT","token_type":"Bearer","expires_in":3600}`,
		"control":       `{"access_token":"abc\u0001","token_type":"Bearer","expires_in":3600}`,
		"refresh space": `{"access_token":"abc","refresh_token":"r t","token_type":"Bearer","expires_in":3600}`,
		"type":          `{"access_token":"abc","token_type":"mac","expires_in":3600}`,
		"lifetime":      `{"access_token":"abc","token_type":"Bearer","expires_in":99999999999}`,
		"negative":      `{"access_token":"abc","token_type":"Bearer","expires_in":-5}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(body))
			}))
			defer srv.Close()
			c := Config{Type: Generic, ClientID: "c", AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token", HTTPClient: srv.Client()}
			tok, err := c.Refresh(context.Background(), "rt")
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != "invalid_token_response" || pe.Kind != advice.Misconfigured {
				t.Fatalf("refresh accepted or misread it: %+v, %v", tok, err)
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
	// A good answer still passes, in both places.
	good := `{"access_token":"abc","token_type":"bearer","expires_in":"3600"}`
	if _, err := ParseTokenResponse([]byte(good)); err != nil {
		t.Fatal(err)
	}
}
