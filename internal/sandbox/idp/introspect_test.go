package idp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
)

// introspectHTTP asks /introspect the way a mail server would.
func introspectHTTP(t *testing.T, s *Server, how, token string) map[string]any {
	t.Helper()
	var req *http.Request
	var err error
	switch how {
	case "post":
		req, err = http.NewRequest(http.MethodPost, s.URL()+"/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("dovecot", "ignored") // client auth is accepted and ignored
		}
	case "get":
		req, err = http.NewRequest(http.MethodGet, s.URL()+"/introspect?access_token="+url.QueryEscape(token), nil)
	case "bearer":
		req, err = http.NewRequest(http.MethodGet, s.URL()+"/introspect", nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(raw, &body) != nil {
		t.Fatalf("introspect %s: HTTP %d %s", how, resp.StatusCode, raw)
	}
	return body
}

func TestConformance_Introspection(t *testing.T) {
	s, clock := newWorld(t)
	cfg := msConfig(s)
	cfg.ClientID = msMultiID
	cfg.Endpoint = msEndpoint(s, "organizations")
	s.GrantAdminConsent(msMultiID, fabrikamID)
	tok := tokenFor(t, s, cfg, bob) // Bob.Brown@Fabrikam.example

	for _, how := range []string{"post", "get", "bearer"} {
		t.Run(how, func(t *testing.T) {
			body := introspectHTTP(t, s, how, tok.AccessToken)
			if body["active"] != true || body["username"] != "bob.brown@fabrikam.example" || body["email"] != "bob.brown@fabrikam.example" ||
				body["client_id"] != msMultiID || body["token_type"] != "Bearer" || body["scope"] != "IMAP.AccessAsUser.All SMTP.Send" {
				t.Errorf("active token: %v", body)
			}
			if exp, _ := body["exp"].(float64); int64(exp) != epoch.Add(3599*time.Second).Unix() {
				t.Errorf("exp = %v", body["exp"])
			}
			for _, k := range []string{"iat", "sub", "aud", "iss"} {
				if body[k] == nil {
					t.Errorf("%s missing: %v", k, body)
				}
			}
			for _, dead := range []string{"not-a-token", tok.RefreshToken} {
				if b := introspectHTTP(t, s, how, dead); len(b) != 1 || b["active"] != false {
					t.Errorf("inactive token: %v", b)
				}
			}
		})
	}

	in := s.Introspect(tok.AccessToken)
	if !in.Active || in.Username != "bob.brown@fabrikam.example" || in.Provider != provider.Microsoft || in.AppOnly || !in.Exp.Equal(epoch.Add(3599*time.Second)) {
		t.Errorf("Introspect = %+v", in)
	}
	// Microsoft access tokens survive consent revocation until they expire.
	s.RevokeConsent(msMultiID, bob)
	if !s.Introspect(tok.AccessToken).Active {
		t.Error("Microsoft access token died with consent; it should live until expiry")
	}
	clock.Advance(3599 * time.Second)
	if s.Introspect(tok.AccessToken).Active {
		t.Error("expired access token is active")
	}
	if b := introspectHTTP(t, s, "post", tok.AccessToken); b["active"] != false {
		t.Errorf("expired over HTTP: %v", b)
	}
}
