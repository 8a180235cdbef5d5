package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"mailtokens/internal/advice"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/secret"
)

func TestDiscoveryURLs(t *testing.T) {
	tests := []struct {
		issuer string
		urls   []string
		want   string
	}{
		{"https://id.example.com", []string{"https://id.example.com/.well-known/openid-configuration", "https://id.example.com/.well-known/oauth-authorization-server"}, "https://id.example.com"},
		{"https://id.example.com/", []string{"https://id.example.com/.well-known/openid-configuration", "https://id.example.com/.well-known/oauth-authorization-server"}, "https://id.example.com"},
		// RFC 8414 §3.1: the well-known path goes between host and path.
		{"https://id.example.com/realms/mail", []string{"https://id.example.com/realms/mail/.well-known/openid-configuration", "https://id.example.com/.well-known/oauth-authorization-server/realms/mail"}, "https://id.example.com/realms/mail"},
		// A document's own address, pasted as the issuer.
		{"https://id.example.com/realms/mail/.well-known/openid-configuration", []string{"https://id.example.com/realms/mail/.well-known/openid-configuration"}, "https://id.example.com/realms/mail"},
		{"https://id.example.com/.well-known/oauth-authorization-server/t1", []string{"https://id.example.com/.well-known/oauth-authorization-server/t1"}, "https://id.example.com/t1"},
	}
	for _, tt := range tests {
		urls, want, err := discoveryURLs(tt.issuer)
		if err != nil || !slices.Equal(urls, tt.urls) || want != tt.want {
			t.Errorf("%s: %q %q %v, want %q %q", tt.issuer, urls, want, err, tt.urls, tt.want)
		}
	}
	for _, bad := range []string{"http://id.example.com", "https://id.example.com/?tenant=x", "https://id.example.com/#x", "id.example.com", ""} {
		if _, _, err := discoveryURLs(bad); err == nil {
			t.Errorf("%q accepted as an issuer", bad)
		}
	}
}

func TestChooseClientAuth(t *testing.T) {
	tests := []struct {
		supported []string
		secret    bool
		want      string
	}{
		{nil, true, ClientSecretBasic}, // RFC 8414 §2: absent means client_secret_basic
		{[]string{"client_secret_post", "client_secret_basic"}, true, ClientSecretBasic},
		{[]string{"client_secret_post"}, true, ClientSecretPost},
		{[]string{"private_key_jwt"}, true, ""},
		{[]string{"client_secret_basic"}, false, ClientAuthNone},
		{nil, false, ClientAuthNone},
	}
	for _, tt := range tests {
		if got := ChooseClientAuth(tt.supported, tt.secret); got != tt.want {
			t.Errorf("%v, secret %v: %q, want %q", tt.supported, tt.secret, got, tt.want)
		}
	}
}

// The method decides where the secret goes, and only there.
func TestClientAuthStyles(t *testing.T) {
	base := Config{ClientID: "c 1", ClientSecret: secret.New("s&2")}
	for _, tt := range []struct {
		method     string
		style      oauth2.AuthStyle
		basic      bool
		bodySecret string
	}{
		{"", oauth2.AuthStyleInParams, false, "s&2"},
		{ClientSecretPost, oauth2.AuthStyleInParams, false, "s&2"},
		{ClientSecretBasic, oauth2.AuthStyleInHeader, true, ""},
		{ClientAuthNone, oauth2.AuthStyleInParams, false, ""},
	} {
		c := base
		c.ClientAuth = tt.method
		a := c.clientAuth()
		if a.style != tt.style {
			t.Errorf("%q: style %v", tt.method, a.style)
		}
		req := httptest.NewRequest(http.MethodPost, "https://id.example.com/revoke", nil)
		form := url.Values{}
		a.apply(req, form)
		user, pass, ok := req.BasicAuth()
		if ok != tt.basic || form.Get("client_secret") != tt.bodySecret || form.Get("client_id") != "c 1" {
			t.Errorf("%q: basic %v (%q %q), body %v", tt.method, ok, user, pass, form)
		}
		if ok && (user != "c+1" || pass != "s%262") {
			t.Errorf("%q: Basic credentials must be form-encoded first (RFC 6749 §2.3.1): %q %q", tt.method, user, pass)
		}
	}
}

func TestParseAuthParams(t *testing.T) {
	for _, ok := range []string{"", "prompt=login", "?acr_values=mfa&ui_locales=de%20en", "access_type=offline&domain_hint=example.org"} {
		if _, msg := parseAuthParams(ok); msg != "" {
			t.Errorf("%q refused: %s", ok, msg)
		}
	}
	for _, bad := range []string{"state=x", "Nonce=1", "redirect_uri=https://evil.example", "client_id=x", "code_challenge=x",
		"response_type=token", "scope=openid", "client_secret=x", "a=1&a=2", "=x", "prompt=login consent", "a=%zz", "x=1#y"} {
		if _, msg := parseAuthParams(bad); msg == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestValidateStandardFields(t *testing.T) {
	c := Config{Type: Generic, ClientID: "c", AuthURL: "https://id.example.com/a", TokenURL: "https://id.example.com/t",
		Issuer: "https://id.example.com", ClientAuth: ClientSecretBasic, AuthParams: "prompt=login",
		UserinfoURL: "https://id.example.com/u", DeviceURL: "https://id.example.com/d", RevokeURL: "https://id.example.com/r"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Issuer, c.ClientAuth, c.AuthParams, c.UserinfoURL = "https://id.example.com/?x=1", "client_secret_jwt", "state=1", "ftp://x"
	var l fielderr.List
	if !errors.As(c.Validate(), &l) {
		t.Fatal("accepted")
	}
	for _, f := range []string{FieldIssuer, FieldClientAuth, FieldAuthParams, FieldUserinfoURL} {
		if l.For(f) == "" {
			t.Errorf("no problem with %s: %v", f, l)
		}
	}
}

func TestStartAuthNonceAndOffline(t *testing.T) {
	c := Config{Type: Generic, ClientID: "c", AuthURL: "https://id.example.com/a", TokenURL: "https://id.example.com/t",
		RedirectURL: "http://localhost:8080/oauth2/callback", Scope: "mail"}
	q := func(c Config) (url.Values, AuthRequest) {
		t.Helper()
		r, err := c.StartAuth()
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(r.URL)
		return u.Query(), r
	}
	v, r := q(c)
	if v.Has("nonce") || r.Nonce != "" || v.Has("prompt") {
		t.Errorf("without openid and offline_access: %v", v)
	}
	c.Scope = "openid mail offline_access"
	v, r = q(c)
	if v.Get("nonce") == "" || v.Get("nonce") != r.Nonce || len(r.Nonce) < 40 || v.Get("prompt") != "consent" {
		t.Errorf("with openid and offline_access: %v (nonce kept %q)", v, r.Nonce)
	}
	c.AuthParams = "prompt=login+consent&acr_values=mfa"
	if v, _ = q(c); v.Get("prompt") != "login consent" || v.Get("acr_values") != "mfa" {
		t.Errorf("extra parameters: %v", v)
	}
	c.AuthParams = "state=mine"
	if _, err := c.StartAuth(); err == nil {
		t.Error("an extra parameter replaced the state")
	}
	ms := Config{Type: Microsoft, Tenant: "common", ClientID: "c", RedirectURL: "http://localhost/cb"}
	if v, _ = q(ms); v.Get("nonce") == "" || v.Has("prompt") {
		t.Errorf("Microsoft asks for openid: a nonce, and no prompt: %v", v)
	}
}

// discoveryServer serves doc (with %s replaced by its own URL) at path,
// 404 elsewhere.
func discoveryServer(t *testing.T, path, doc string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, strings.ReplaceAll(doc, "%s", srv.URL))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDiscoverRefusals(t *testing.T) {
	ctx := context.Background()
	c := Config{HTTPClient: NewHTTPClient(5e9)}
	doc := `{"issuer":"%s/other","authorization_endpoint":"%s/a","token_endpoint":"%s/t"}`
	srv := discoveryServer(t, "/t1/.well-known/openid-configuration", doc)
	_, err := c.Discover(ctx, srv.URL+"/t1")
	var mm *IssuerMismatchError
	if !errors.As(err, &mm) || mm.Got != srv.URL+"/other" || mm.Want != srv.URL+"/t1" {
		t.Fatalf("issuer mismatch: %v", err)
	}
	if text, kind := advice.Of(err); kind != advice.Misconfigured || !strings.Contains(text, srv.URL+"/other") {
		t.Errorf("advice: %s (%v)", text, kind)
	}
	_, err = c.Discover(ctx, srv.URL+"/nothing")
	var de *DiscoveryError
	if !errors.As(err, &de) || len(de.Attempts) != 2 || de.Attempts[0].Status != 404 ||
		!strings.Contains(err.Error(), srv.URL+"/.well-known/oauth-authorization-server/nothing") {
		t.Fatalf("nothing there: %v", err)
	}
	if _, kind := advice.Of(err); kind != advice.Misconfigured {
		t.Errorf("404s: %v", kind)
	}
	big := discoveryServer(t, "/.well-known/openid-configuration", `{"issuer":"%s","x":"`+strings.Repeat("a", maxDiscoveryBody)+`"}`)
	if _, err := c.Discover(ctx, big.URL); !errors.Is(err, errTooLarge) {
		t.Errorf("too large: %v", err)
	}
	redirect := httptest.NewServer(http.RedirectHandler("https://elsewhere.example/", http.StatusFound))
	defer redirect.Close()
	if _, err := c.Discover(ctx, redirect.URL); err == nil || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("redirect: %v", err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if _, kind := advice.Of(func() error { _, err := c.Discover(ctx, dead.URL); return err }()); kind != advice.Temporary {
		t.Errorf("unreachable: %v", kind)
	}
}

func TestParseDiscovery(t *testing.T) {
	d, err := ParseDiscovery([]byte(`{"issuer":"https://id.example.com","authorization_endpoint":"https://id.example.com/a",
		"token_endpoint":"https://id.example.com/t","revocation_endpoint":"http://id.example.com/r",
		"device_authorization_endpoint":"https://id.example.com/d","code_challenge_methods_supported":["plain"],
		"token_endpoint_auth_methods_supported":["private_key_jwt"],"scopes_supported":["openid","offline_access","bad scope"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.RevokeURL != "" || d.DeviceURL != "https://id.example.com/d" || len(d.Notes) != 3 || !d.OffersOfflineAccess() || len(d.Scopes) != 2 {
		t.Fatalf("%+v", d)
	}
	for _, bad := range []string{`[]`, `{}`, `{"issuer":"https://x.example"}`, `{"issuer":"https://x.example","authorization_endpoint":"https://x.example/a"}`,
		`{"issuer":"x","authorization_endpoint":"https://x.example/a","token_endpoint":"https://x.example/t"}`,
		`{"issuer":"https://x.example","authorization_endpoint":"javascript:alert(1)","token_endpoint":"https://x.example/t"}`} {
		if _, err := ParseDiscovery([]byte(bad)); !errors.Is(err, ErrNotDiscovery) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// FuzzDiscovery: whatever a server sends, parsing never panics, and what
// it accepts fills a config that passes Validate, with every URL one the
// pages' Content-Security-Policy can take.
func FuzzDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://id.example.com","authorization_endpoint":"https://id.example.com/a","token_endpoint":"https://id.example.com/t","userinfo_endpoint":"https://id.example.com/u","device_authorization_endpoint":"https://id.example.com/d","revocation_endpoint":"https://id.example.com/r","token_endpoint_auth_methods_supported":["client_secret_basic"],"scopes_supported":["openid","offline_access"],"code_challenge_methods_supported":["S256"]}`), true)
	f.Add([]byte(`{"issuer":"http://127.0.0.1:8080/std","authorization_endpoint":"http://127.0.0.1:8080/std/authorize","token_endpoint":"http://127.0.0.1:8080/std/token","token_endpoint_auth_methods_supported":["private_key_jwt","tls_client_auth"]}`), false)
	f.Add([]byte(`{"issuer":"https://x.example","authorization_endpoint":"https://x.example;sandbox/a","token_endpoint":"https://*/t"}`), true)
	f.Add([]byte(`{"issuer":"https://x.example","authorization_endpoint":"https://x.example/a","token_endpoint":"https://x.example/t","scopes_supported":["a\u0000b",""],"revocation_endpoint":"https://user:pw@x.example/r"}`), true)
	f.Add([]byte(`{"issuer":1}`), false)
	f.Add([]byte(`null`), false)
	f.Fuzz(func(t *testing.T, body []byte, hasSecret bool) {
		d, err := ParseDiscovery(body)
		if err != nil {
			if d != nil || !errors.Is(err, ErrNotDiscovery) {
				t.Fatalf("error %v with %+v", err, d)
			}
			return
		}
		c := Config{Type: Generic, ClientID: "client", Scope: "mail"}
		d.Apply(&c, hasSecret)
		if err := c.Validate(); err != nil {
			t.Fatalf("applied discovery fails validation: %v\n%+v", err, d)
		}
		for _, u := range []string{c.AuthURL, c.TokenURL, c.DeviceURL, c.RevokeURL, c.UserinfoURL} {
			if u != "" && Origin(u) == "" {
				t.Fatalf("%q has no origin", u)
			}
		}
		if !hasSecret && c.ClientAuth != ClientAuthNone {
			t.Fatalf("a client without a secret got %q", c.ClientAuth)
		}
	})
}
