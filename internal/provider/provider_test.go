package provider

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"mailtokens/internal/advice"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/secret"
)

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want Endpoints
	}{
		{"microsoft tenant GUID", Config{Type: Microsoft, Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"}, Endpoints{
			Auth:   "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize",
			Token:  "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
			Device: "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/devicecode"}},
		{"microsoft domain", Config{Type: Microsoft, Tenant: "contoso.com"}, Endpoints{
			Auth:   "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize",
			Token:  "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token",
			Device: "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/devicecode"}},
		{"microsoft national cloud override", Config{Type: Microsoft, Tenant: "contoso.us",
			AuthURL:  "https://login.microsoftonline.us/contoso.us/oauth2/v2.0/authorize",
			TokenURL: "https://login.microsoftonline.us/contoso.us/oauth2/v2.0/token"}, Endpoints{
			Auth:   "https://login.microsoftonline.us/contoso.us/oauth2/v2.0/authorize",
			Token:  "https://login.microsoftonline.us/contoso.us/oauth2/v2.0/token",
			Device: "https://login.microsoftonline.us/contoso.us/oauth2/v2.0/devicecode"}},
		{"google", Config{Type: Google}, Endpoints{
			Auth:   "https://accounts.google.com/o/oauth2/v2/auth",
			Token:  "https://oauth2.googleapis.com/token",
			Device: "https://oauth2.googleapis.com/device/code",
			Revoke: "https://oauth2.googleapis.com/revoke"}},
		{"google sandbox", Config{Type: Google, AuthURL: "http://127.0.0.1:9/google/o/oauth2/v2/auth", TokenURL: "http://127.0.0.1:9/google/token"}, Endpoints{
			Auth:   "http://127.0.0.1:9/google/o/oauth2/v2/auth",
			Token:  "http://127.0.0.1:9/google/token",
			Device: "http://127.0.0.1:9/google/device/code",
			Revoke: "http://127.0.0.1:9/google/revoke"}},
		{"generic", Config{Type: Generic, AuthURL: "https://id.example/auth", TokenURL: "https://id.example/token"}, Endpoints{
			Auth: "https://id.example/auth", Token: "https://id.example/token"}},
		{"generic with revoke", Config{Type: Generic, AuthURL: "https://id.example/auth", TokenURL: "https://id.example/oauth/token", RevokeURL: "https://id.example/oauth/revoke"}, Endpoints{
			Auth: "https://id.example/auth", Token: "https://id.example/oauth/token", Revoke: "https://id.example/oauth/revoke"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Endpoints(); got != tt.want {
				t.Errorf("Endpoints() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want []string
	}{
		{"microsoft default adds offline_access and the OpenID scopes", Config{Type: Microsoft},
			[]string{MicrosoftIMAPScope, MicrosoftPOPScope, MicrosoftSMTPScope, OfflineAccess, "openid", "profile", "email"}},
		{"microsoft admin scope", Config{Type: Microsoft, Scope: MicrosoftIMAPScope},
			[]string{MicrosoftIMAPScope, OfflineAccess, "openid", "profile", "email"}},
		{"microsoft offline_access and openid never twice", Config{Type: Microsoft, Scope: "offline_access openid " + MicrosoftSMTPScope + " OFFLINE_ACCESS"},
			[]string{OfflineAccess, "openid", MicrosoftSMTPScope, "profile", "email"}},
		{"commas and new lines", Config{Type: Microsoft, Scope: MicrosoftIMAPScope + ",\n" + MicrosoftSMTPScope},
			[]string{MicrosoftIMAPScope, MicrosoftSMTPScope, OfflineAccess, "openid", "profile", "email"}},
		{"google default", Config{Type: Google}, []string{GoogleMailScope, "openid", "email"}},
		{"google no offline_access", Config{Type: Google, Scope: GoogleMailScope}, []string{GoogleMailScope, "openid", "email"}},
		{"generic as typed", Config{Type: Generic, Scope: "mail.read mail.send"}, []string{"mail.read", "mail.send"}},
		{"generic empty", Config{Type: Generic}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Scopes(); !slices.Equal(got, tt.want) {
				t.Errorf("Scopes() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppOnlyScopes(t *testing.T) {
	for _, tt := range []struct {
		c    Config
		want []string
	}{
		{Config{Type: Microsoft}, []string{MicrosoftAppOnlyScope}},
		{Config{Type: Microsoft, Scope: MicrosoftIMAPScope}, []string{MicrosoftAppOnlyScope}},
		{Config{Type: Microsoft, Scope: "https://outlook.office365.com/.default offline_access"}, []string{MicrosoftAppOnlyScope}},
		{Config{Type: Generic, Scope: "api://x/.default"}, []string{"api://x/.default"}},
	} {
		got := tt.c.AppOnlyScopes()
		if !slices.Equal(got, tt.want) {
			t.Errorf("AppOnlyScopes(%q) = %q, want %q", tt.c.Scope, got, tt.want)
		}
		if slices.Contains(got, OfflineAccess) || slices.Contains(got, "openid") {
			t.Errorf("offline_access and openid must never go with client credentials")
		}
	}
}

func TestDefaultScopesPerUse(t *testing.T) {
	for _, tt := range []struct {
		use  Use
		want string
	}{
		{IMAP, MicrosoftIMAPScope}, {POP3, MicrosoftPOPScope}, {SMTP, MicrosoftSMTPScope}, {EWS, MicrosoftEWSScope},
	} {
		if got := DefaultScopes(Microsoft, tt.use); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("DefaultScopes(microsoft, %s) = %q", tt.use, got)
		}
		if got := DefaultScopes(Google, tt.use); !slices.Equal(got, []string{GoogleMailScope}) {
			t.Errorf("DefaultScopes(google, %s) = %q", tt.use, got)
		}
	}
}

func TestStartAuth(t *testing.T) {
	c := Config{Type: Google, ClientID: "cid", RedirectURL: "http://localhost:8080/oauth2/callback", Email: "a@example.com"}
	r1, err := c.StartAuth()
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := c.StartAuth()
	if r1.State == r2.State || r1.Verifier == r2.Verifier || len(r1.State) < 40 {
		t.Fatalf("state/verifier must be random and long: %q %q", r1.State, r2.State)
	}
	u, err := url.Parse(r1.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"client_id": "cid", "redirect_uri": c.RedirectURL, "response_type": "code", "state": r1.State,
		"code_challenge_method": "S256", "access_type": "offline", "prompt": "consent",
		"scope": GoogleMailScope + " openid email", "login_hint": "a@example.com",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge") == r1.Verifier {
		t.Errorf("code_challenge must be the S256 of the verifier, got %q", q.Get("code_challenge"))
	}
	if !strings.HasPrefix(r1.URL, GoogleAuthURL+"?") {
		t.Errorf("URL %s does not start with Google's auth URL", r1.URL)
	}

	ms := Config{Type: Microsoft, Tenant: "contoso.com", ClientID: "cid", RedirectURL: "http://localhost:8080/oauth2/callback"}
	r, err := ms.StartAuth()
	if err != nil {
		t.Fatal(err)
	}
	mu, _ := url.Parse(r.URL)
	if mu.Query().Get("access_type") != "" || mu.Query().Get("prompt") != "" {
		t.Errorf("Microsoft must not get Google's parameters: %s", r.URL)
	}
	if !strings.Contains(mu.Query().Get("scope"), OfflineAccess) {
		t.Errorf("Microsoft scope lacks offline_access: %q", mu.Query().Get("scope"))
	}

	if _, err := (Config{Type: Google, ClientID: "x"}).StartAuth(); err == nil {
		t.Error("StartAuth without a redirect URL must fail")
	}
}

func TestValidate(t *testing.T) {
	good := Config{Type: Microsoft, Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: "cid"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name  string
		c     Config
		field string
	}{
		{"unknown type", Config{Type: "yahoo", ClientID: "x"}, FieldType},
		{"microsoft without tenant", Config{Type: Microsoft, ClientID: "x"}, FieldTenant},
		{"bad tenant", Config{Type: Microsoft, Tenant: "not a tenant!", ClientID: "x"}, FieldTenant},
		{"no client id", Config{Type: Google}, FieldClientID},
		{"client id with spaces", Config{Type: Google, ClientID: "a b"}, FieldClientID},
		{"generic without URLs", Config{Type: Generic, ClientID: "x"}, FieldAuthURL},
		{"generic without token URL", Config{Type: Generic, ClientID: "x", AuthURL: "https://a.example/auth"}, FieldTokenURL},
		{"relative URL", Config{Type: Google, ClientID: "x", TokenURL: "/token"}, FieldTokenURL},
		{"plain http to another host", Config{Type: Google, ClientID: "x", AuthURL: "http://evil.example/auth"}, FieldAuthURL},
		{"URL with credentials", Config{Type: Google, ClientID: "x", TokenURL: "https://u:p@a.example/token"}, FieldTokenURL},
		{"bad scope", Config{Type: Google, ClientID: "x", Scope: `<script>`}, FieldScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			var l fielderr.List
			if !errors.As(err, &l) {
				t.Fatalf("Validate() = %v, want a field error list", err)
			}
			if l.For(tt.field) == "" {
				t.Fatalf("no error for %q in %v", tt.field, l)
			}
		})
	}
	for _, tenant := range []string{"common", "organizations", "consumers", "contoso.onmicrosoft.com", "72F988BF-86F1-41AF-91AB-2D7CD011DB47"} {
		if !ValidTenant(tenant) {
			t.Errorf("ValidTenant(%q) = false", tenant)
		}
	}
	if err := (Config{Type: Generic, ClientID: "x", AuthURL: "http://127.0.0.1:9/a", TokenURL: "http://localhost:9/t"}).Validate(); err != nil {
		t.Errorf("http to loopback must be allowed (the sandbox): %v", err)
	}
}

func TestExplainNamesTheCodeAndTheAction(t *testing.T) {
	redirect := "http://localhost:8080/oauth2/callback"
	tests := []struct {
		code int
		want []string
	}{
		{70000, []string{"AADSTS70000", "Get Email Token"}},
		{700082, []string{"AADSTS700082", "90 days"}},
		{70043, []string{"AADSTS70043", "sign-in"}},
		{50076, []string{"AADSTS50076", "multi-factor"}},
		{65001, []string{"AADSTS65001", "consent"}},
		{54005, []string{"AADSTS54005", "already used"}},
		{700016, []string{"AADSTS700016", FieldTenant}},
		{7000215, []string{"AADSTS7000215", "Value", "Secret ID"}},
		{7000222, []string{"AADSTS7000222", "expired", "new"}},
		{50011, []string{"AADSTS50011", redirect}},
		{500113, []string{"AADSTS500113", redirect}},
		{900971, []string{"AADSTS900971", redirect}},
		{7000218, []string{"AADSTS7000218", "Allow public client flows"}},
	}
	for _, tt := range tests {
		e := &Error{Provider: Microsoft, Code: "invalid_grant", AADSTS: []int{tt.code}, RedirectURL: redirect}
		got := advice.Explain(e)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("advice.Explain(AADSTS%d) = %q, missing %q", tt.code, got, w)
			}
		}
		if strings.Count(got, ". ") > 1 {
			t.Errorf("advice.Explain(AADSTS%d) should be one sentence: %q", tt.code, got)
		}
	}

	g := rebuild(Google, "invalid_grant", "Token has been expired or revoked.")
	if got := advice.Explain(g); !strings.Contains(got, "Testing") || !strings.Contains(got, "In production") {
		t.Errorf("Google expired/revoked explanation must mention the Testing status: %q", got)
	}
	if g.Kind != advice.Reauthorize {
		t.Errorf("Google invalid_grant kind = %v, want needs authorization", g.Kind)
	}
	ms := rebuild(Microsoft, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.")
	if !ms.HasCode(700082) || ms.ShortCode() != "AADSTS700082" || ms.Kind != advice.Reauthorize {
		t.Errorf("rebuild lost the AADSTS code: %+v", ms)
	}
	if got := advice.Explain(errors.New("plain")); got != "plain" {
		t.Errorf("unknown errors keep their text, got %q", got)
	}
	if got := advice.Explain(&Error{Provider: Google, Op: "device code", Code: "invalid_scope"}); !strings.Contains(got, "redirect") {
		t.Errorf("device flow refusal must point to the redirect flow: %q", got)
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want advice.Kind
	}{
		{Error{HTTPStatus: 500}, advice.Temporary},
		{Error{HTTPStatus: 503, Code: "temporarily_unavailable"}, advice.Temporary},
		{Error{HTTPStatus: 429}, advice.Temporary},
		{Error{HTTPStatus: 400, Code: "invalid_grant"}, advice.Reauthorize},
		{Error{HTTPStatus: 400, Code: "invalid_grant", AADSTS: []int{700082}}, advice.Reauthorize},
		{Error{HTTPStatus: 401, Code: "invalid_client", AADSTS: []int{7000215}}, advice.Misconfigured},
		{Error{HTTPStatus: 400, Code: "invalid_grant", AADSTS: []int{65001}}, advice.Misconfigured},
		{Error{HTTPStatus: 400, Code: "interaction_required"}, advice.Reauthorize},
		{Error{HTTPStatus: 400, Code: "invalid_request"}, advice.Misconfigured},
		{Error{Code: "no_refresh_token"}, advice.Reauthorize}, // kept in a store and rebuilt
	} {
		if got := classify(&tt.e); got != tt.want {
			t.Errorf("classify(%+v) = %v, want %v", tt.e, got, tt.want)
		}
	}
}

func TestSecretNotInURL(t *testing.T) {
	c := Config{Type: Microsoft, Tenant: "common", ClientID: "cid", ClientSecret: secret.New("s3cr3t-value"), RedirectURL: "http://localhost/cb"}
	r, err := c.StartAuth()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.URL, "s3cr3t") {
		t.Fatalf("client secret in the browser URL: %s", r.URL)
	}
}
