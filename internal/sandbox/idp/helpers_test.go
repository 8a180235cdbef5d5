package idp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"mailtokens/internal/clock"
	"mailtokens/internal/provider"
)

// The test world: two Microsoft tenants, a Google account, and apps of
// every kind the product meets.
const (
	contosoID      = "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
	contosoDomain  = "contoso.example"
	fabrikamID     = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
	fabrikamDomain = "fabrikam.example"

	msWebID      = "3f8e5a2c-1b4d-4c6e-9f0a-7b8c9d0e1f2a" // single-tenant (contoso), confidential
	msMultiID    = "9d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a" // multi-tenant, confidential + public flows
	msPublicID   = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d" // single-tenant, public client, no secret
	msDaemonID   = "7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f" // client credentials
	msNoReplyID  = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" // no redirect URIs
	msSecret     = "Qx8~sandbox.secret-value_1"
	gWebID       = "123456789012-web.apps.googleusercontent.example"
	gTestingID   = "123456789012-testing.apps.googleusercontent.example"
	gTVID        = "123456789012-tv.apps.googleusercontent.example"
	gSecret      = "GOCSPX-sandbox-secret"
	redirectURI  = "http://localhost:8080/oauth2/callback"
	alice        = "alice.adams@contoso.example"
	bob          = "Bob.Brown@Fabrikam.example" // mixed case on purpose
	carol        = "carol.clark@gmail.example"
	password     = "correct horse battery staple"
	exoIMAP      = "https://outlook.office.com/IMAP.AccessAsUser.All"
	exoSMTP      = "https://outlook.office.com/SMTP.Send"
	gmailScope   = "https://mail.google.com/"
	exoDefault   = "https://outlook.office365.com/.default"
	deviceGrant  = "urn:ietf:params:oauth:grant-type:device_code"
	testInterval = 1
)

var epoch = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// newWorld starts a sandbox on a clock.Fake with the test world in it.
func newWorld(t *testing.T) (*Server, *clock.Fake) {
	t.Helper()
	clock := clock.NewFake(epoch)
	s := NewTest(t, Options{Clock: clock})
	populate(s)
	return s, clock
}

func populate(s *Server) {
	s.SetDeviceInterval(testInterval)
	s.AddTenant(Tenant{ID: contosoID, Domain: contosoDomain})
	s.AddTenant(Tenant{ID: fabrikamID, Domain: fabrikamDomain, UserConsentDisabled: true})
	sec := []Secret{{Value: msSecret}}
	s.AddApp(App{Provider: provider.Microsoft, Name: "Mail Tokens", ClientID: msWebID, Secrets: sec, RedirectURIs: []string{redirectURI}, Tenant: contosoID})
	s.AddApp(App{Provider: provider.Microsoft, Name: "Mail Tokens Multi", ClientID: msMultiID, Secrets: sec, RedirectURIs: []string{redirectURI}, Tenant: contosoID, MultiTenant: true, AllowPublicClient: true})
	s.AddApp(App{Provider: provider.Microsoft, Name: "Mail Tokens CLI", ClientID: msPublicID, RedirectURIs: []string{"http://localhost"}, Tenant: contosoID, AllowPublicClient: true})
	s.AddApp(App{Provider: provider.Microsoft, Name: "Mail Daemon", ClientID: msDaemonID, Secrets: sec, Tenant: contosoID, AppPermissions: []string{"IMAP.AccessAsApp", "SMTP.SendAsApp"}})
	s.AddApp(App{Provider: provider.Microsoft, Name: "No Reply App", ClientID: msNoReplyID, Secrets: sec, Tenant: contosoID})
	gsec := []Secret{{Value: gSecret}}
	s.AddApp(App{Provider: provider.Google, Name: "Mail Tokens (Google)", ClientID: gWebID, Secrets: gsec, RedirectURIs: []string{redirectURI}})
	s.AddApp(App{Provider: provider.Google, Name: "Mail Tokens Testing", ClientID: gTestingID, Secrets: gsec, RedirectURIs: []string{redirectURI}, Testing: true})
	s.AddApp(App{Provider: provider.Google, Name: "Mail Tokens TV", ClientID: gTVID, Secrets: gsec})
	s.AddUser(User{Email: alice, Password: password, Tenant: contosoID, Provider: provider.Microsoft})
	s.AddUser(User{Email: bob, Password: password, Tenant: fabrikamID, Provider: provider.Microsoft})
	s.AddUser(User{Email: carol, Password: password, Provider: provider.Google})
}

func msEndpoint(s *Server, tenant string) oauth2.Endpoint {
	base := s.URL() + "/" + tenant + "/oauth2/v2.0"
	return oauth2.Endpoint{
		AuthURL:       base + "/authorize",
		TokenURL:      base + "/token",
		DeviceAuthURL: base + "/devicecode",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

func googleEndpoint(s *Server) oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:       s.URL() + "/google/o/oauth2/v2/auth",
		TokenURL:      s.URL() + "/google/token",
		DeviceAuthURL: s.URL() + "/google/device/code",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// msConfig is the confidential single-tenant app through its tenant GUID,
// asking for IMAP and SMTP with a refresh token.
func msConfig(s *Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     msWebID,
		ClientSecret: msSecret,
		Endpoint:     msEndpoint(s, contosoID),
		RedirectURL:  redirectURI,
		Scopes:       []string{exoIMAP, exoSMTP, "offline_access"},
	}
}

func googleConfig(s *Server, clientID string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: gSecret,
		Endpoint:     googleEndpoint(s),
		RedirectURL:  redirectURI,
		Scopes:       []string{gmailScope},
	}
}

// authorize signs in through cfg's authorization URL with PKCE and returns
// the redirect; it fails the test if SignIn itself fails.
func authorize(t *testing.T, s *Server, cfg *oauth2.Config, email string, opts ...oauth2.AuthCodeOption) (*url.URL, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(verifier))
	loc, err := s.SignIn(context.Background(), cfg.AuthCodeURL("state-123", opts...), email, password)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if got := loc.Query().Get("state"); got != "state-123" {
		t.Fatalf("redirect state = %q, want state-123 (redirect %s)", got, loc)
	}
	return loc, verifier
}

// codeFor signs in and returns an authorization code and its verifier.
func codeFor(t *testing.T, s *Server, cfg *oauth2.Config, email string, opts ...oauth2.AuthCodeOption) (string, string) {
	t.Helper()
	loc, verifier := authorize(t, s, cfg, email, opts...)
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in redirect %s", loc)
	}
	return code, verifier
}

// tokenFor runs the whole code flow with x/oauth2.
func tokenFor(t *testing.T, s *Server, cfg *oauth2.Config, email string, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	code, verifier := codeFor(t, s, cfg, email, opts...)
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// reply is a raw JSON answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) str(k string) string {
	s, _ := r.body[k].(string)
	return s
}

// post sends a form like a token client would and decodes the JSON answer.
func post(t *testing.T, target string, form url.Values) reply {
	t.Helper()
	return postWith(t, target, form, nil)
}

func postWith(t *testing.T, target string, form url.Values, prepare func(*http.Request)) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if prepare != nil {
		prepare(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("POST %s: HTTP %d, body is not JSON: %v\n%s", target, resp.StatusCode, err, raw)
	}
	return r
}

// msForm is a token request form for the single-tenant app with its secret.
func msForm(kv ...string) url.Values {
	v := url.Values{"client_id": {msWebID}, "client_secret": {msSecret}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
			continue
		}
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func msTokenURL(s *Server, tenant string) string {
	return s.URL() + "/" + tenant + "/oauth2/v2.0/token"
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// aadsts extracts the first AADSTS number from a text.
func aadsts(text string) int {
	m := aadstsRE.FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// checkMSError asserts the full Microsoft error shape and returns the code.
func checkMSError(t *testing.T, r reply, wantStatus int, wantError string, wantCode int) {
	t.Helper()
	if r.status != wantStatus {
		t.Errorf("status = %d, want %d; body %s", r.status, wantStatus, r.raw)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if got := r.str("error"); got != wantError {
		t.Errorf("error = %q, want %q; body %s", got, wantError, r.raw)
	}
	desc := r.str("error_description")
	if !strings.HasPrefix(desc, "AADSTS"+strconv.Itoa(wantCode)+": ") {
		t.Errorf("error_description = %q, want prefix AADSTS%d: ", desc, wantCode)
	}
	codes, _ := r.body["error_codes"].([]any)
	if len(codes) != 1 || codes[0] != float64(wantCode) {
		t.Errorf("error_codes = %v, want [%d]", r.body["error_codes"], wantCode)
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id", "error_uri"} {
		if r.str(k) == "" {
			t.Errorf("%s missing: %s", k, r.raw)
		}
	}
}

// checkGoogleError asserts Google's two-field error shape.
func checkGoogleError(t *testing.T, r reply, wantStatus int, wantError, wantDesc string) {
	t.Helper()
	if r.status != wantStatus || r.str("error") != wantError || r.str("error_description") != wantDesc {
		t.Errorf("got HTTP %d %s, want HTTP %d error=%q error_description=%q", r.status, r.raw, wantStatus, wantError, wantDesc)
	}
	for k := range r.body {
		if k != "error" && k != "error_description" {
			t.Errorf("unexpected field %q in Google error %s", k, r.raw)
		}
	}
}

// getPage fetches a page without following redirects.
func getPage(t *testing.T, target string) (int, string, *url.URL) {
	t.Helper()
	p, err := newBrowser().do(context.Background(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return p.status, p.body, p.location
}
