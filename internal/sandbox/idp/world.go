package idp

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/testcert"

	"golang.org/x/oauth2"
)

// World is a ready-made population for the sandbox: a Microsoft tenant
// (Contoso) with a confidential app, a user, a shared mailbox and a second
// user; a Google app with a user. Tests and `make demo` use it so that
// they all speak of the same names.
type World struct {
	TenantID, TenantDomain       string
	MSClientID, MSSecret         string
	GoogleClientID, GoogleSecret string

	MSUser          string // support@contoso.example
	MSOtherUser     string // another user of the tenant
	MSSharedMailbox string // a shared mailbox MSUser has full access to (the mail servers' part)
	GoogleUser      string
	Password        string // every user's password

	// MSCertificate is the Microsoft app's certificate credential: its
	// private key and certificate in PEM, as an admin pastes them (the
	// certificate is registered on the app).
	MSCertificate string
	// GoogleServiceAccount is a service account whose client ID the
	// Google user's Workspace domain (GoogleDomain) granted domain-wide
	// delegation for the mail scope; GoogleServiceAccountKey is its JSON
	// key as Cloud Console downloads it.
	GoogleServiceAccount, GoogleServiceAccountKey, GoogleDomain string
	// The standards issuer ({URL}/std, standard.go) has three clients of
	// one app, one per token_endpoint_auth_method: StdClientID takes only
	// client_secret_basic (the method every server must support, and some
	// accept alone), StdPostClientID only client_secret_post (both with
	// StdSecret), StdPublicClientID is a public client (none, PKCE).
	StdClientID, StdPostClientID, StdPublicClientID, StdSecret string
	StdUser                                                    string
}

// mintRedirect is registered on the world's apps for MintToken. Loopback
// redirect URIs match any port at both providers.
const mintRedirect = "http://127.0.0.1/sandbox-mint"

// AddWorld registers the world's tenant, apps and users; redirectURIs are
// registered on both apps (evadmin's PUBLIC_URL/oauth2/callback).
func (s *Server) AddWorld(redirectURIs ...string) World {
	w := World{
		TenantID:        "7c8e2d1a-4b5f-4a6e-9d3c-2f1e0a9b8c7d",
		TenantDomain:    "contoso.example",
		MSClientID:      "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
		MSSecret:        "sandbox~ms.secret-value-0123456789",
		GoogleClientID:  "123456789012-sandbox.apps.googleusercontent.com",
		GoogleSecret:    "GOCSPX-sandbox-secret-0123456789",
		MSUser:          "support@contoso.example",
		MSOtherUser:     "alex@contoso.example",
		MSSharedMailbox: "helpdesk@contoso.example",
		GoogleUser:      "support.team@gmail.example",
		Password:        "sandbox-password",
		GoogleDomain:    "gmail.example",

		GoogleServiceAccount: "mail-workers@mailtokens-sandbox.iam.gserviceaccount.example",

		StdClientID:       "mail-workers",
		StdPostClientID:   "mail-workers-post",
		StdPublicClientID: "mail-workers-public",
		StdSecret:         "std secret/with+form&characters",
		StdUser:           "Postmaster@example.org",
	}
	redirects := append([]string{mintRedirect}, redirectURIs...)
	s.AddTenant(Tenant{ID: w.TenantID, Domain: w.TenantDomain})
	s.AddApp(App{
		Provider: provider.Microsoft, Name: "Contoso mail workers", ClientID: w.MSClientID,
		Secrets: []Secret{{Value: w.MSSecret}}, RedirectURIs: redirects, Tenant: w.TenantID,
		AllowPublicClient: true,
		AppPermissions: []string{"IMAP.AccessAsApp", "POP.AccessAsApp", "SMTP.SendAsApp",
			"https://graph.microsoft.com/Mail.Send", "https://graph.microsoft.com/Mail.ReadWrite"},
	})
	s.GrantAdminConsent(w.MSClientID, w.TenantID)
	s.AddApp(App{
		Provider: provider.Google, Name: "Mail workers", ClientID: w.GoogleClientID,
		Secrets: []Secret{{Value: w.GoogleSecret}}, RedirectURIs: redirects,
	})
	for _, u := range []string{w.MSUser, w.MSOtherUser} {
		s.AddUser(User{Email: u, Password: w.Password, Tenant: w.TenantID, Provider: provider.Microsoft})
	}
	s.AddUser(User{Email: w.GoogleUser, Password: w.Password, Provider: provider.Google})
	s.addWorldKeys(&w)
	for id, method := range map[string]string{w.StdClientID: "client_secret_basic", w.StdPostClientID: "client_secret_post", w.StdPublicClientID: "none"} {
		a := App{Provider: provider.Generic, Name: "Mail workers", ClientID: id, RedirectURIs: redirects, AuthMethod: method}
		if method != "none" {
			a.Secrets = []Secret{{Value: w.StdSecret}}
		}
		s.AddApp(a)
	}
	s.AddUser(User{Email: w.StdUser, Password: w.Password, Provider: provider.Generic})
	return w
}

// addWorldKeys gives the world's Microsoft app a certificate and the
// world's Google domain a service account with domain-wide delegation.
// The keys are made once per process (testcert.SharedClient).
func (s *Server) addWorldKeys(w *World) {
	cert, err := testcert.SharedClient("Contoso mail workers")
	if err != nil {
		panic("idp: world certificate: " + err.Error())
	}
	w.MSCertificate = cert.PEM
	s.AddCertificate(w.MSClientID, cert.Cert)

	saKey, err := testcert.SharedClient("sandbox service account")
	if err != nil {
		panic("idp: world service account key: " + err.Error())
	}
	const keyID, clientID = "5f1c0ffee0d15ea5e0ddba11ab1ec0de5ca1ab1e", "104729000000000000001"
	s.AddServiceAccount(ServiceAccount{Email: w.GoogleServiceAccount, ClientID: clientID, KeyID: keyID,
		Key: &saKey.Key.PublicKey, Delegation: map[string][]string{w.GoogleDomain: {"https://mail.google.com/"}}})
	tokenURI := "https://oauth2.googleapis.com/token"
	if s.URL() != "" {
		tokenURI = s.URL() + "/google/token"
	}
	der, _ := x509.MarshalPKCS8PrivateKey(saKey.Key)
	key, _ := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": "mailtokens-sandbox", "private_key_id": keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": w.GoogleServiceAccount, "client_id": clientID,
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": tokenURI,
	}, "", "  ")
	w.GoogleServiceAccountKey = string(key)
}

// Endpoints returns the sandbox's authorization and token URLs for a
// provider (Microsoft through the world's tenant).
func (s *Server) Endpoints(w World, f provider.Type) (authURL, tokenURL string) {
	switch f {
	case provider.Google:
		return s.URL() + "/google/o/oauth2/v2/auth", s.URL() + "/google/token"
	case provider.Generic:
		return s.StdIssuer() + "/authorize", s.StdIssuer() + "/token"
	}
	base := s.URL() + "/" + w.TenantID + "/oauth2/v2.0"
	return base + "/authorize", base + "/token"
}

// MintToken gets tokens for email by the real route — the authorization
// page, sign-in and consent, PKCE, the token endpoint — for tests that need
// a live token without caring how. Microsoft scopes default to IMAP, POP
// and SMTP for Exchange Online; Google's to the mail scope.
func (s *Server) MintToken(ctx context.Context, w World, f provider.Type, email string, scopes ...string) (access, refresh string, err error) {
	cfg := oauth2.Config{RedirectURL: mintRedirect}
	cfg.Endpoint.AuthURL, cfg.Endpoint.TokenURL = s.Endpoints(w, f)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	var opts []oauth2.AuthCodeOption
	switch f {
	case provider.Google:
		cfg.ClientID, cfg.ClientSecret = w.GoogleClientID, w.GoogleSecret
		if len(scopes) == 0 {
			scopes = []string{"https://mail.google.com/"}
		}
		opts = append(opts, oauth2.AccessTypeOffline, oauth2.ApprovalForce)
	default:
		cfg.ClientID, cfg.ClientSecret = w.MSClientID, w.MSSecret
		if len(scopes) == 0 {
			scopes = []string{"https://outlook.office.com/IMAP.AccessAsUser.All",
				"https://outlook.office.com/POP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send"}
		}
		scopes = append(scopes, "offline_access")
	}
	cfg.Scopes = scopes
	verifier := oauth2.GenerateVerifier()
	state := "mint"
	back, err := s.SignIn(ctx, cfg.AuthCodeURL(state, append(opts, oauth2.S256ChallengeOption(verifier))...), email, w.Password)
	if err != nil {
		return "", "", fmt.Errorf("mint token for %s: %w", email, err)
	}
	if e := back.Query().Get("error"); e != "" {
		return "", "", fmt.Errorf("mint token for %s: %s: %s", email, e, back.Query().Get("error_description"))
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", "", fmt.Errorf("mint token for %s: %w", email, err)
	}
	return tok.AccessToken, tok.RefreshToken, nil
}
