package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"

	"golang.org/x/oauth2"
)

// googleOffline is what the product sends: offline access and a forced
// consent screen so that every Get Email Token yields a refresh token.
var googleOffline = []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.ApprovalForce}

func googleTokenURL(s *Server) string { return s.URL() + "/google/token" }

func googleForm(kv ...string) url.Values {
	v := url.Values{"client_id": {gWebID}, "client_secret": {gSecret}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestConformance_GoogleAuthURLParams(t *testing.T) {
	s, _ := newWorld(t)
	cfg := googleConfig(s, gWebID)
	u, err := url.Parse(cfg.AuthCodeURL("st", append(googleOffline, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("login_hint", carol))...))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, want := range map[string]string{"access_type": "offline", "prompt": "consent", "response_type": "code", "scope": gmailScope, "code_challenge_method": "S256"} {
		if q.Get(k) != want {
			t.Errorf("auth URL %s = %q, want %q", k, q.Get(k), want)
		}
	}
	status, body, _ := getPage(t, u.String())
	for _, want := range []string{"Sign in with Google", "Mail Tokens (Google)", gmailScope, `value="` + carol + `"`, "Allow"} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("consent page (HTTP %d) lacks %q", status, want)
		}
	}
	loc, _ := authorize(t, s, cfg, carol, googleOffline...)
	if loc.Query().Get("code") == "" || loc.Query().Get("scope") != gmailScope {
		t.Errorf("redirect = %s", loc)
	}
}

func TestConformance_GoogleRefreshTokenOnlyOnFirstConsent(t *testing.T) {
	s, _ := newWorld(t)
	cfg := googleConfig(s, gWebID)
	steps := []struct {
		name   string
		opts   []oauth2.AuthCodeOption
		wantRT bool
	}{
		{"first offline consent", []oauth2.AuthCodeOption{oauth2.AccessTypeOffline}, true},
		{"second offline sign-in", []oauth2.AuthCodeOption{oauth2.AccessTypeOffline}, false},
		{"offline with prompt=consent", googleOffline, true},
		{"online with prompt=consent", []oauth2.AuthCodeOption{oauth2.ApprovalForce}, false},
		{"no access_type", nil, false},
	}
	for _, st := range steps {
		tok := tokenFor(t, s, cfg, carol, st.opts...)
		if (tok.RefreshToken != "") != st.wantRT {
			t.Errorf("%s: refresh token present = %v, want %v", st.name, tok.RefreshToken != "", st.wantRT)
		}
	}
}

func TestConformance_GoogleOfflineRequired(t *testing.T) {
	s, _ := newWorld(t)
	tok := tokenFor(t, s, googleConfig(s, gWebID), carol, oauth2.ApprovalForce)
	if tok.RefreshToken != "" {
		t.Error("refresh token without access_type=offline")
	}
	// It was not an offline consent, so the first offline one still counts
	// as first.
	tok = tokenFor(t, s, googleConfig(s, gWebID), carol, oauth2.AccessTypeOffline)
	if tok.RefreshToken == "" {
		t.Error("no refresh token at the first offline consent")
	}
}

func TestConformance_GoogleNoRotation(t *testing.T) {
	s, clock := newWorld(t)
	tok := tokenFor(t, s, googleConfig(s, gWebID), carol, googleOffline...)
	for range 3 {
		clock.Advance(time.Hour)
		r := post(t, googleTokenURL(s), googleForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
		if r.status != 200 {
			t.Fatalf("refresh: %s", r.raw)
		}
		if _, has := r.body["refresh_token"]; has {
			t.Errorf("Google refresh response carries a refresh_token: %s", r.raw)
		}
	}
	// x/oauth2 keeps the old refresh token when the response has none.
	next, err := googleConfig(s, gWebID).TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || next.RefreshToken != tok.RefreshToken {
		t.Errorf("x/oauth2 refresh: %v, refresh token kept = %v", err, next != nil && next.RefreshToken == tok.RefreshToken)
	}
}

func TestConformance_GoogleTokenShapes(t *testing.T) {
	s, _ := newWorld(t)
	code, verifier := codeFor(t, s, googleConfig(s, gWebID), carol, googleOffline...)
	r := post(t, googleTokenURL(s), googleForm("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier))
	if r.status != 200 {
		t.Fatal(r.raw)
	}
	at, rt := r.str("access_token"), r.str("refresh_token")
	if !strings.HasPrefix(at, "ya29.") || len(at) < 160 || strings.Trim(at[5:], urlSafe) != "" {
		t.Errorf("access token %q", at)
	}
	if !strings.HasPrefix(rt, "1//0") || len(rt) < 100 {
		t.Errorf("refresh token %q", rt)
	}
	if r.body["expires_in"] != float64(3599) || r.str("token_type") != "Bearer" || r.str("scope") != gmailScope {
		t.Errorf("response %s", r.raw)
	}
	if _, has := r.body["refresh_token_expires_in"]; has {
		t.Errorf("refresh_token_expires_in for a published app: %s", r.raw)
	}
}

func TestConformance_GoogleRevoke(t *testing.T) {
	s, _ := newWorld(t)
	cfg := googleConfig(s, gWebID)
	revoke := func(tok string) reply { return post(t, s.URL()+"/google/revoke", url.Values{"token": {tok}}) }

	t.Run("refresh token", func(t *testing.T) {
		tok := tokenFor(t, s, cfg, carol, googleOffline...)
		r := post(t, googleTokenURL(s), googleForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
		at2 := r.str("access_token")
		if r := revoke(tok.RefreshToken); r.status != 200 || r.raw != "{}" {
			t.Fatalf("revoke: HTTP %d %s", r.status, r.raw)
		}
		for _, at := range []string{tok.AccessToken, at2} {
			if s.Introspect(at).Active {
				t.Error("an access token of the revoked grant is still active")
			}
		}
		r = post(t, googleTokenURL(s), googleForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
		checkGoogleError(t, r, 400, "invalid_grant", "Token has been expired or revoked.")
		checkGoogleError(t, revoke(tok.RefreshToken), 400, "invalid_token", "Token expired or revoked")
	})
	t.Run("access token", func(t *testing.T) {
		tok := tokenFor(t, s, cfg, carol, googleOffline...)
		if r := revoke(tok.AccessToken); r.status != 200 {
			t.Fatalf("revoke: %s", r.raw)
		}
		r := post(t, googleTokenURL(s), googleForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
		checkGoogleError(t, r, 400, "invalid_grant", "Token has been expired or revoked.")
	})
	t.Run("next sign-in is a first consent again", func(t *testing.T) {
		tok := tokenFor(t, s, cfg, carol, oauth2.AccessTypeOffline)
		if tok.RefreshToken == "" {
			t.Error("no refresh token after revocation")
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		checkGoogleError(t, revoke("ya29.nonsense"), 400, "invalid_token", "Token expired or revoked")
	})
}

func TestConformance_GoogleRevokeConsent(t *testing.T) {
	s, _ := newWorld(t)
	tok := tokenFor(t, s, googleConfig(s, gWebID), carol, googleOffline...)
	s.RevokeConsent(gWebID, carol)
	r := post(t, googleTokenURL(s), googleForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
	checkGoogleError(t, r, 400, "invalid_grant", "Token has been expired or revoked.")
	if s.Introspect(tok.AccessToken).Active {
		t.Error("access token active after consent was revoked")
	}
}

func TestConformance_GoogleTestingSevenDays(t *testing.T) {
	s, clock := newWorld(t)
	code, verifier := codeFor(t, s, googleConfig(s, gTestingID), carol, googleOffline...)
	f := googleForm("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier, "client_id", gTestingID)
	r := post(t, googleTokenURL(s), f)
	if r.body["refresh_token_expires_in"] != float64(7*24*3600) {
		t.Errorf("refresh_token_expires_in = %v", r.body["refresh_token_expires_in"])
	}
	rt := r.str("refresh_token")
	refresh := func() reply {
		return post(t, googleTokenURL(s), googleForm("grant_type", "refresh_token", "refresh_token", rt, "client_id", gTestingID))
	}
	// Daily use does not extend the deadline: it counts from issue.
	for range 6 {
		clock.Advance(24 * time.Hour)
		if r := refresh(); r.status != 200 {
			t.Fatalf("refresh within 7 days: %s", r.raw)
		}
	}
	clock.Advance(24 * time.Hour)
	checkGoogleError(t, refresh(), 400, "invalid_grant", "Token has been expired or revoked.")
}

func TestConformance_GoogleErrors(t *testing.T) {
	s, _ := newWorld(t)
	code, verifier := codeFor(t, s, googleConfig(s, gWebID), carol, googleOffline...)
	redeem := googleForm("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier)
	tests := []struct {
		name   string
		form   url.Values
		status int
		error  string
		desc   string
	}{
		{"wrong secret", googleForm("grant_type", "refresh_token", "refresh_token", "1//0x", "client_secret", "nope"), 401, "invalid_client", "Unauthorized"},
		{"unknown client", googleForm("grant_type", "refresh_token", "refresh_token", "1//0x", "client_id", "nobody.apps.googleusercontent.example"), 401, "invalid_client", "The OAuth client was not found."},
		{"unknown refresh token", googleForm("grant_type", "refresh_token", "refresh_token", "1//0x"), 400, "invalid_grant", "Token has been expired or revoked."},
		{"PKCE mismatch", googleForm("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", "x"), 400, "invalid_grant", "Invalid code verifier."},
		{"code redeemed", redeem, 200, "", ""},
		{"code reused", redeem, 400, "invalid_grant", "Bad Request"},
		{"unsupported grant", googleForm("grant_type", "password"), 400, "unsupported_grant_type", "Invalid grant_type: password"},
	}
	for _, tt := range tests {
		r := post(t, googleTokenURL(s), tt.form)
		if tt.status == 200 {
			if r.status != 200 {
				t.Errorf("%s: %s", tt.name, r.raw)
			}
			continue
		}
		t.Run(tt.name, func(t *testing.T) { checkGoogleError(t, r, tt.status, tt.error, tt.desc) })
	}
}

func TestConformance_GoogleAuthorizePageErrors(t *testing.T) {
	s, _ := newWorld(t)
	ctx := context.Background()
	cfg := googleConfig(s, gWebID)
	cfg.RedirectURL = "http://localhost:8080/not-registered"
	_, err := s.SignIn(ctx, cfg.AuthCodeURL("st"), carol, password)
	if err == nil || !strings.Contains(err.Error(), "Error 400: redirect_uri_mismatch") {
		t.Errorf("unregistered redirect URI: %v", err)
	}
	status, body, loc := getPage(t, cfg.AuthCodeURL("st"))
	if status != 400 || loc != nil || !strings.Contains(body, "redirect_uri=http://localhost:8080/not-registered") {
		t.Errorf("redirect_uri_mismatch page: HTTP %d", status)
	}

	cfg = googleConfig(s, gWebID)
	loc, err = s.Decline(ctx, cfg.AuthCodeURL("st", googleOffline...), carol, password)
	if err != nil || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st" {
		t.Errorf("declined: %v %v", loc, err)
	}
	_, err = s.SignIn(ctx, cfg.AuthCodeURL("st"), carol, "wrong")
	if err == nil || !strings.Contains(err.Error(), "Wrong password") {
		t.Errorf("wrong password: %v", err)
	}
	cfg.Scopes = []string{"https://mail.google.com/everything"}
	_, err = s.SignIn(ctx, cfg.AuthCodeURL("st"), carol, password)
	if err == nil || !strings.Contains(err.Error(), "invalid_scope") {
		t.Errorf("unknown scope: %v", err)
	}
}

func TestConformance_GoogleXOAuth2(t *testing.T) {
	s, _ := newWorld(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		cfg := googleConfig(s, gWebID)
		cfg.Endpoint.AuthStyle = style
		tok := tokenFor(t, s, cfg, carol, googleOffline...)
		next, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("style %v: %v", style, err)
		}
		if in := s.Introspect(next.AccessToken); !in.Active || in.Username != carol || in.Scope != gmailScope || in.Provider != provider.Google {
			t.Errorf("introspection = %+v", in)
		}
	}
	// Google's errors reach the caller as RetrieveError fields.
	_, err := googleConfig(s, gWebID).TokenSource(context.Background(), &oauth2.Token{RefreshToken: "1//0dead"}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Token has been expired or revoked." || re.Response.StatusCode != http.StatusBadRequest {
		t.Errorf("error = %v", err)
	}
}

// Google keeps at most 100 live refresh tokens per account and client;
// each sign-in with prompt=consent makes a new one and the 101st pushes the
// oldest out — silently, until it is used.
func TestConformance_GoogleRefreshTokenLimit(t *testing.T) {
	s, _ := newWorld(t)
	cfg := googleConfig(s, gWebID)
	first := tokenFor(t, s, cfg, carol, googleOffline...)
	var second *oauth2.Token
	for i := range googleMaxRefreshTokens {
		tok := tokenFor(t, s, cfg, carol, googleOffline...)
		if i == 0 {
			second = tok
		}
	}
	r := post(t, googleTokenURL(s), googleForm("grant_type", "refresh_token", "refresh_token", first.RefreshToken))
	checkGoogleError(t, r, 400, "invalid_grant", "Token has been expired or revoked.")
	if r := post(t, googleTokenURL(s), googleForm("grant_type", "refresh_token", "refresh_token", second.RefreshToken)); r.status != 200 {
		t.Errorf("second-oldest refresh token: %s", r.raw)
	}
	recs := s.Refreshes()
	if len(recs) != 2 || recs[0].Provider != provider.Google || recs[0].Outcome != "invalid_grant" || recs[0].AADSTS != 0 || recs[1].Outcome != "ok" {
		t.Errorf("Refreshes() = %+v", recs)
	}
}
