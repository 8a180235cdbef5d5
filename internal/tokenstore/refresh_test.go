package tokenstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/secret"
	"mailtokens/internal/testenv/pgtest"
)

const testRedirect = "http://localhost:8080/oauth2/callback"

// world is the sandbox provider and a store, both on the sandbox's fake
// clock.
type world struct {
	*idptest.Sandbox
	store *Store
	opt   Options
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldAt(t, time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
}

func newWorldAt(t *testing.T, start time.Time) *world {
	t.Helper()
	s := idptest.New(t, idptest.Options{Start: start, RedirectURIs: []string{testRedirect}})
	dir := t.TempDir()
	w := &world{Sandbox: s, opt: Options{
		Path: pgtest.StorePath(t, filepath.Join(dir, "tokens.db")), KeyFile: filepath.Join(dir, "tokens.key"),
		Now: s.Clock.Now, HTTPClient: provider.NewHTTPClient(5 * time.Second),
	}}
	w.store = w.open(t)
	return w
}

// open opens another Store on the same file: for the store, a separate
// instance is a separate process (its own leases, no shared locks).
func (w *world) open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), w.opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (w *world) settings(name string, typ provider.Type) Settings {
	if typ == provider.Google {
		auth, token := w.IDP.Endpoints(w.World, provider.Google)
		return Settings{Name: name, Config: provider.Config{Type: provider.Google, Email: w.World.GoogleUser, ClientID: w.World.GoogleClientID,
			ClientSecret: secret.New(w.World.GoogleSecret), Scope: provider.GoogleMailScope, AuthURL: auth, TokenURL: token}}
	}
	auth, token := w.IDP.Endpoints(w.World, provider.Microsoft)
	return Settings{Name: name, Config: provider.Config{Type: provider.Microsoft, Email: w.World.MSUser, Tenant: w.World.TenantID, ClientID: w.World.MSClientID,
		ClientSecret: secret.New(w.World.MSSecret), Scope: provider.MicrosoftIMAPScope + " " + provider.MicrosoftSMTPScope,
		AuthURL: auth, TokenURL: token}}
}

// authorized creates a token and runs Get Email Token for it against the
// sandbox: sign-in page, consent, code exchange with PKCE.
func (w *world) authorized(t testing.TB, name string, typ provider.Type) *Token {
	t.Helper()
	ctx := context.Background()
	set := w.settings(name, typ)
	created, err := w.store.Create(ctx, set, ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	return w.signIn(t, created, set.Email)
}

// signIn runs Get Email Token for the created token as email: the
// sandbox's sign-in page, consent, code exchange with PKCE; the grant
// (with a refresh token) is saved.
func (w *world) signIn(t testing.TB, created *Token, email string) *Token {
	t.Helper()
	ctx := context.Background()
	cfg := w.store.ProviderConfig(created, testRedirect)
	req, err := cfg.StartAuth()
	if err != nil {
		t.Fatal(err)
	}
	back, err := w.IDP.SignIn(ctx, req.URL, email, w.World.Password)
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != req.State || back.Query().Get("code") == "" {
		t.Fatalf("sign-in came back with %s", back)
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), req.Proof)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken.IsZero() {
		t.Fatal("no refresh token from the sign-in")
	}
	saved, err := w.store.SaveGrant(ctx, created.Name, GrantAuthorizationCode, tok, ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	return saved
}

// age moves both clocks so the access token has left less than it has.
func (w *world) age(d time.Duration) { w.Clock.Advance(d) }

func TestFreshTokenIsNotRefreshed(t *testing.T) {
	w := newWorld(t)
	tok := w.authorized(t, "ms", provider.Microsoft)
	a, err := w.store.Source("ms", ActorEvmail).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !a.Token.Equal(tok.AccessToken) || len(w.IDP.Refreshes()) != 0 {
		t.Fatalf("a fresh token was refreshed (%d refreshes)", len(w.IDP.Refreshes()))
	}
	if a.Email != w.World.MSUser || !a.Expiry.Equal(tok.Expiry) {
		t.Fatalf("access = %+v", a)
	}
	if in := w.IDP.Introspect(a.Token.Reveal()); !in.Active || in.Username != w.World.MSUser {
		t.Fatalf("the sandbox does not accept the stored token: %+v", in)
	}
}

func TestStaleTokenRefreshedWithRotation(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	old := w.authorized(t, "ms", provider.Microsoft)
	// 51 minutes into a 60-minute token: under 10 minutes left.
	w.age(51 * time.Minute)
	a, err := w.store.Source("ms", ActorEvmail).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Token.Equal(old.AccessToken) {
		t.Fatal("stale token handed out")
	}
	if a.Expiry.Sub(w.Clock.Now()) < MinValidity {
		t.Fatalf("new token expires in %v", a.Expiry.Sub(w.Clock.Now()))
	}
	got, _ := w.store.Get(ctx, "ms")
	if got.RefreshToken.Equal(old.RefreshToken) {
		t.Fatal("the rotated refresh token was not stored")
	}
	if !got.RefreshIssuedAt.Equal(w.Clock.Now().Truncate(time.Millisecond)) || got.Status != StatusValid {
		t.Fatalf("after refresh: issued %v status %s", got.RefreshIssuedAt, got.Status)
	}
	refs := w.IDP.Refreshes()
	if len(refs) != 1 || refs[0].RefreshToken != old.RefreshToken.Reveal() || refs[0].Outcome != "ok" {
		t.Fatalf("refreshes = %+v", refs)
	}
	// The rotated token works for the next refresh; the old one is spent.
	w.age(51 * time.Minute)
	if _, err := w.store.Source("ms", ActorEvmail).Token(ctx); err != nil {
		t.Fatal(err)
	}
	refs = w.IDP.Refreshes()
	if len(refs) != 2 || refs[1].RefreshToken != got.RefreshToken.Reveal() || refs[1].Outcome != "ok" {
		t.Fatalf("second refresh = %+v", refs)
	}
	ev, _ := w.store.Events(ctx, "ms", 1)
	if ev[0].Kind != EventRefreshed || ev[0].Actor != ActorEvmail || !strings.Contains(ev[0].Text, "rotated") {
		t.Fatalf("refresh event = %+v", ev[0])
	}
}

func TestGoogleRefreshKeepsRefreshToken(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	old := w.authorized(t, "gmail", provider.Google)
	w.age(55 * time.Minute)
	a, err := w.store.Source("gmail", ActorBatchmail).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := w.store.Get(ctx, "gmail")
	if a.Token.Equal(old.AccessToken) || !got.RefreshToken.Equal(old.RefreshToken) || !got.RefreshIssuedAt.Equal(old.RefreshIssuedAt) {
		t.Fatal("Google does not rotate: the refresh token and its issue time must stay")
	}
	if !got.RefreshUsedAt.After(old.RefreshIssuedAt) {
		t.Fatal("refresh-token last use not recorded")
	}
}

func TestPermanentFailuresNeedAuthorization(t *testing.T) {
	cases := []struct {
		name    string
		typ     provider.Type
		breakIt func(w *world)
		code    string
		words   string
	}{
		{"microsoft consent revoked", provider.Microsoft, func(w *world) { w.IDP.RevokeConsent(w.World.MSClientID, w.World.MSUser) }, "AADSTS65001", "consent"},
		{"microsoft 90 days idle", provider.Microsoft, func(w *world) { w.age(91 * 24 * time.Hour) }, "AADSTS700082", "90 days"},
		{"microsoft MFA", provider.Microsoft, func(w *world) { w.IDP.RequireMFA(w.World.MSUser) }, "AADSTS50076", "multi-factor"},
		{"microsoft secret expired", provider.Microsoft, func(w *world) { w.IDP.ExpireSecrets(w.World.MSClientID) }, "AADSTS7000222", "expired"},
		{"google revoked", provider.Google, func(w *world) { w.IDP.RevokeConsent(w.World.GoogleClientID, w.World.GoogleUser) }, "invalid_grant", "Testing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			old := w.authorized(t, "tok", c.typ)
			w.age(55 * time.Minute)
			c.breakIt(w)
			_, err := w.store.Source("tok", ActorEvmail).Token(ctx)
			var na *NeedsAuthorizationError
			if !errors.As(err, &na) {
				t.Fatalf("got %v, want NeedsAuthorizationError", err)
			}
			if !strings.Contains(advice.Explain(err), c.words) || !strings.Contains(err.Error(), strings.TrimPrefix(c.code, "invalid_grant")) ||
				kindOf(err) != advice.Reauthorize {
				t.Fatalf("error %q (advice %q) should name %s and explain %q", err, advice.Explain(err), c.code, c.words)
			}
			got, _ := w.store.Get(ctx, "tok")
			if got.Status != StatusNeedsAuthorization || got.LastError.IsZero() || !got.RefreshToken.Equal(old.RefreshToken) {
				t.Fatalf("after failure: status %s, error %+v", got.Status, got.LastError)
			}
			if !strings.Contains(got.Explain(), c.words) {
				t.Fatalf("stored explanation %q lacks %q", got.Explain(), c.words)
			}
			ev, _ := w.store.Events(ctx, "tok", 2)
			if eventKinds(ev) != "needs_authorization refresh_failed" || ev[1].Code != c.code {
				t.Fatalf("events = %+v", ev)
			}
			// No more provider requests until someone acts.
			n := len(w.IDP.Refreshes())
			for range 3 {
				if _, err := w.store.Source("tok", ActorEvmail).Token(ctx); !errors.As(err, &na) {
					t.Fatalf("later call: %v", err)
				}
			}
			if len(w.IDP.Refreshes()) != n {
				t.Fatal("a token needing authorization was refreshed again")
			}
		})
	}
}

func TestSecretFixRevivesToken(t *testing.T) {
	// A wrong client secret is fixed in the settings, not by signing in
	// again: saving a new secret makes the token usable with its refresh
	// token.
	ctx := context.Background()
	w := newWorld(t)
	w.authorized(t, "ms", provider.Microsoft)
	set := w.settings("ms", provider.Microsoft)
	set.ClientSecret = secret.New("the secret ID, pasted by mistake")
	if _, err := w.store.Update(ctx, "ms", set, ActorAdmin); err != nil {
		t.Fatal(err)
	}
	w.age(55 * time.Minute)
	_, err := w.store.Source("ms", ActorEvmail).Token(ctx)
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("wrong secret: %v", err)
	}
	set.ClientSecret = secret.New(w.World.MSSecret)
	got, err := w.store.Update(ctx, "ms", set, ActorAdmin)
	if err != nil || got.Status != StatusValid {
		t.Fatalf("after fixing the secret: status %v, %v", got.Status, err)
	}
	if _, err := w.store.Source("ms", ActorEvmail).Token(ctx); err != nil {
		t.Fatalf("refresh with the fixed secret: %v", err)
	}
}

func TestTemporaryFailuresBackOffAndKeepToken(t *testing.T) {
	faults := []struct {
		name  string
		fault idp.Fault
	}{
		{"500", idp.Fault{Kind: idp.FaultStatus500}},
		{"malformed JSON", idp.Fault{Kind: idp.FaultMalformedJSON}},
		{"dropped connection", idp.Fault{Kind: idp.FaultDropConnection}},
		{"slow answer", idp.Fault{Kind: idp.FaultSlow, Delay: time.Minute}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			old := w.authorized(t, "ms", provider.Microsoft)
			normal := w.store
			if f.fault.Kind == idp.FaultSlow {
				// A store whose provider requests give up long before the
				// sandbox answers.
				w.opt.HTTPClient = provider.NewHTTPClient(time.Second)
				w.store = w.open(t)
			}
			w.IDP.InjectFault(f.fault)

			// Five minutes left: the refresh fails, the old token is still
			// usable and is handed out.
			w.age(55 * time.Minute)
			a, err := w.store.Source("ms", ActorEvmail).Token(ctx)
			if err != nil || !a.Token.Equal(old.AccessToken) {
				t.Fatalf("with time left, want the old token: %v", err)
			}
			got, _ := w.store.Get(ctx, "ms")
			if got.Status != StatusRefreshFailing || !got.RefreshToken.Equal(old.RefreshToken) || got.RefreshFailures != 1 {
				t.Fatalf("status %s failures %d", got.Status, got.RefreshFailures)
			}
			if !got.NextRefreshAt.Equal(w.Clock.Now().Add(backoffMin).Truncate(time.Millisecond)) {
				t.Fatalf("next refresh at %v", got.NextRefreshAt)
			}

			// Expired: a temporary error with the retry time; within the
			// backoff no request reaches the provider.
			w.age(6 * time.Minute)
			n := w.IDP.TokenRequests("refresh_token")
			_, err = w.store.Source("ms", ActorEvmail).Token(ctx)
			var rf *RefreshFailingError
			if !errors.As(err, &rf) || kindOf(err) != advice.Temporary {
				t.Fatalf("expired + failing: %v", err)
			}
			if rf.RetryAt.IsZero() {
				t.Fatal("no retry time")
			}
			_, err = w.store.Source("ms", ActorEvmail).Token(ctx)
			if !errors.As(err, &rf) {
				t.Fatalf("second call: %v", err)
			}
			if extra := w.IDP.TokenRequests("refresh_token") - n; extra > 1 {
				t.Fatalf("%d provider requests during backoff, want at most 1", extra)
			}

			// Recovery.
			w.store = normal
			w.IDP.ClearFaults()
			w.age(backoffMax)
			a, err = w.store.Source("ms", ActorEvmail).Token(ctx)
			if err != nil || a.Token.Equal(old.AccessToken) {
				t.Fatalf("after recovery: %v", err)
			}
			got, _ = w.store.Get(ctx, "ms")
			if got.Status != StatusValid || got.RefreshFailures != 0 || !got.LastError.IsZero() {
				t.Fatalf("after recovery: %+v", got)
			}
		})
	}
}

func TestRejectedTokenForcesOneRefresh(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	old := w.authorized(t, "ms", provider.Microsoft)
	src := w.store.Source("ms", ActorEvmail)
	a, err := src.Rejected(ctx, old.AccessToken)
	if err != nil || a.Token.Equal(old.AccessToken) {
		t.Fatalf("Rejected: %v", err)
	}
	// A second caller that saw the same rejected token gets the new one
	// without another refresh.
	b, err := src.Rejected(ctx, old.AccessToken)
	if err != nil || !b.Token.Equal(a.Token) || len(w.IDP.Refreshes()) != 1 {
		t.Fatalf("second Rejected refreshed again: %d refreshes, %v", len(w.IDP.Refreshes()), err)
	}
	// Refresh always refreshes.
	c, err := src.Refresh(ctx)
	if err != nil || c.Token.Equal(a.Token) || len(w.IDP.Refreshes()) != 2 {
		t.Fatalf("Refresh: %v", err)
	}
}

func TestAppOnlyTokenRenewsWithClientCredentials(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	set := w.settings("app", provider.Microsoft)
	set.Scope = ""
	created, err := w.store.Create(ctx, set, ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.store.ProviderConfig(created, "").AppOnly(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.RefreshToken.IsZero() {
		t.Fatal("client credentials must not return a refresh token")
	}
	if _, err := w.store.SaveGrant(ctx, "app", GrantClientCredentials, tok, ActorCLI); err != nil {
		t.Fatal(err)
	}
	w.age(55 * time.Minute)
	n := w.IDP.TokenRequests("client_credentials")
	a, err := w.store.Source("app", ActorEvmail).Token(ctx)
	if err != nil || a.Token.Equal(tok.AccessToken) || w.IDP.TokenRequests("client_credentials") != n+1 {
		t.Fatalf("app-only renewal: %v", err)
	}
	if in := w.IDP.Introspect(a.Token.Reveal()); !in.Active || !in.AppOnly {
		t.Fatalf("introspection: %+v", in)
	}
}

func TestPastedTokenWithoutRefreshTokenExpires(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := w.store.Create(ctx, w.settings("pasted", provider.Microsoft), ActorCLI); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.SaveGrant(ctx, "pasted", GrantPasted, &provider.Token{AccessToken: secret.New("pasted-at"), ExpiresIn: time.Hour}, ActorCLI); err != nil {
		t.Fatal(err)
	}
	if a, err := w.store.Source("pasted", ActorEvmail).Token(ctx); err != nil || a.Token.Reveal() != "pasted-at" {
		t.Fatalf("pasted token: %v", err)
	}
	w.age(55 * time.Minute)
	_, err := w.store.Source("pasted", ActorEvmail).Token(ctx)
	var na *NeedsAuthorizationError
	if !errors.As(err, &na) || !strings.Contains(advice.Explain(err), "No refresh token") {
		t.Fatalf("got %v", err)
	}
}

func TestNotAuthorizedAndRevoked(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	if _, err := w.store.Create(ctx, w.settings("new", provider.Microsoft), ActorCLI); err != nil {
		t.Fatal(err)
	}
	_, err := w.store.Source("new", ActorEvmail).Token(ctx)
	var na *NeedsAuthorizationError
	if !errors.As(err, &na) || na.Status != StatusNew || !strings.Contains(advice.Explain(err), "Get Email Token") {
		t.Fatalf("new token: %v", err)
	}

	g := w.authorized(t, "gmail", provider.Google)
	hint, err := w.store.Revoke(ctx, "gmail", ActorAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hint, "Google") {
		t.Fatalf("advice %q", hint)
	}
	if in := w.IDP.Introspect(g.AccessToken.Reveal()); in.Active {
		t.Fatal("revoking at Google must end the access token too")
	}
	got, _ := w.store.Get(ctx, "gmail")
	if got.Status != StatusRevoked || got.HasRefreshToken || got.HasAccessToken {
		t.Fatalf("after revoke: %+v", got)
	}
	if _, err := w.store.Source("gmail", ActorEvmail).Token(ctx); !errors.As(err, &na) || na.Status != StatusRevoked {
		t.Fatalf("revoked token: %v", err)
	}

	w.authorized(t, "ms", provider.Microsoft)
	hint, err = w.store.Revoke(ctx, "ms", ActorAdmin)
	if err != nil || !strings.Contains(hint, "Entra") {
		t.Fatalf("Microsoft revoke: %q %v", hint, err)
	}
}

func TestRevokeFailureChangesNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.authorized(t, "gmail", provider.Google)
	w.IDP.InjectFault(idp.Fault{Kind: idp.FaultStatus500, Path: "/revoke"})
	if _, err := w.store.Revoke(ctx, "gmail", ActorAdmin); err == nil {
		t.Fatal("revoke with the provider down succeeded")
	}
	got, _ := w.store.Get(ctx, "gmail")
	if got.Status != StatusValid || !got.HasRefreshToken {
		t.Fatalf("a failed revoke changed the token: %s", got.Status)
	}
}

func TestLastUsedIsThrottled(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.authorized(t, "ms", provider.Microsoft)
	src := w.store.Source("ms", ActorEvmail)
	for range 5 {
		if err := src.LoggedIn(ctx, Login{Server: "IMAP imap.contoso.example:993", User: "support@contoso.example"}); err != nil {
			t.Fatal(err)
		}
	}
	countUsed := func() int {
		ev, _ := w.store.Events(ctx, "ms", 100)
		n := 0
		for _, e := range ev {
			if e.Kind == EventUsed {
				n++
			}
		}
		return n
	}
	got, _ := w.store.Get(ctx, "ms")
	if countUsed() != 1 || got.LastUsedBy != ActorEvmail || !got.LastUsedAt.Equal(w.Clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("used events %d, last used %v by %s", countUsed(), got.LastUsedAt, got.LastUsedBy)
	}
	w.age(2 * time.Minute)
	src.LoggedIn(ctx, Login{})
	got, _ = w.store.Get(ctx, "ms")
	if countUsed() != 1 || !got.LastUsedAt.Equal(w.Clock.Now().Truncate(time.Millisecond)) {
		t.Fatal("last used not updated after a minute, or an extra event")
	}
	// Another process of the same actor does not add an event within the hour.
	other := w.open(t)
	other.Source("ms", ActorEvmail).LoggedIn(ctx, Login{})
	if countUsed() != 1 {
		t.Fatal("second process logged a second use within the hour")
	}
	w.age(time.Hour)
	src.LoggedIn(ctx, Login{})
	if countUsed() != 2 {
		t.Fatal("no new use event after an hour")
	}
	// A different actor is recorded as such.
	w.store.Source("ms", ActorBatchmail).LoggedIn(ctx, Login{})
	got, _ = w.store.Get(ctx, "ms")
	if got.LastUsedBy != ActorBatchmail || countUsed() != 3 {
		t.Fatalf("last used by %s", got.LastUsedBy)
	}
}

// TestConcurrentCallersShareOneRefresh: many goroutines in several store
// instances (each behaves as its own process) ask for a stale token at
// once, round after round with rotation on; every round the provider sees
// exactly one refresh, and no refresh token is ever presented twice.
func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.authorized(t, "ms", provider.Microsoft)
	stores := []*Store{w.store, w.open(t), w.open(t)}
	const rounds, perStore = 10, 10
	for round := 1; round <= rounds; round++ {
		w.age(51 * time.Minute)
		var wg sync.WaitGroup
		results := make(chan string, len(stores)*perStore)
		errs := make(chan error, len(stores)*perStore)
		start := make(chan struct{})
		for _, s := range stores {
			for range perStore {
				wg.Go(func() {
					<-start
					a, err := s.Source("ms", ActorEvmail).Token(ctx)
					if err != nil {
						errs <- err
						return
					}
					results <- a.Token.Reveal()
				})
			}
		}
		close(start)
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		distinct := map[string]bool{}
		for r := range results {
			distinct[r] = true
		}
		if len(distinct) != 1 {
			t.Fatalf("round %d: callers got %d different tokens", round, len(distinct))
		}
		if n := len(w.IDP.Refreshes()); n != round {
			t.Fatalf("round %d: %d refreshes so far, want %d", round, n, round)
		}
	}
	seen := map[string]bool{}
	for _, r := range w.IDP.Refreshes() {
		if seen[r.RefreshToken] {
			t.Fatal("a refresh token was presented twice")
		}
		seen[r.RefreshToken] = true
		if r.Outcome != "ok" {
			t.Fatalf("refresh outcome %q", r.Outcome)
		}
	}
}

func TestGoogleTestingAppRefreshExpiryIsKept(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	// The same app, with its consent screen left in "Testing".
	w.IDP.AddApp(idp.App{Provider: provider.Google, Name: "Mail workers", ClientID: w.World.GoogleClientID,
		Secrets: []idp.Secret{{Value: w.World.GoogleSecret}}, RedirectURIs: []string{testRedirect}, Testing: true})
	tok := w.authorized(t, "gmail", provider.Google)
	if want := w.Clock.Now().Add(7 * 24 * time.Hour).Truncate(time.Millisecond); !tok.RefreshExpiresAt.Equal(want) {
		t.Fatalf("refresh token expiry %v, want %v", tok.RefreshExpiresAt, want)
	}
	// A refresh (no rotation at Google) keeps the expiry.
	w.age(55 * time.Minute)
	if _, err := w.store.Source("gmail", ActorEvmail).Token(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := w.store.Get(ctx, "gmail")
	if !got.RefreshExpiresAt.Equal(tok.RefreshExpiresAt) {
		t.Fatalf("expiry changed to %v", got.RefreshExpiresAt)
	}
}

func kindOf(err error) advice.Kind {
	_, k := advice.Of(err)
	return k
}

// A Google token with a service account's key has no refresh token: the
// store gets a new access token with the service account's grant when the
// old one runs low, as for client credentials.
func TestServiceAccountTokenRenewsWithItsGrant(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	set := w.settings("sa", provider.Google)
	set.ClientSecret, set.ClientKey, set.Scope = secret.Secret{}, secret.New(w.World.GoogleServiceAccountKey), ""
	created, err := w.store.Create(ctx, set, ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.store.ProviderConfig(created, "").AppOnly(ctx)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := w.store.SaveGrant(ctx, "sa", GrantServiceAccount, tok, ActorCLI)
	if err != nil || saved.HasRefreshToken || !saved.Grant.AppOnly() {
		t.Fatalf("saved: %+v %v", saved, err)
	}
	w.age(55 * time.Minute)
	n := w.IDP.TokenRequests(provider.JWTBearerGrant)
	a, err := w.store.Source("sa", ActorEvmail).Token(ctx)
	if err != nil || a.Token.Equal(tok.AccessToken) || w.IDP.TokenRequests(provider.JWTBearerGrant) != n+1 {
		t.Fatalf("service account renewal: %v", err)
	}
	if in := w.IDP.Introspect(a.Token.Reveal()); !in.Active || in.Username != w.World.GoogleUser {
		t.Fatalf("introspection: %+v", in)
	}

	// The delegation withdrawn: the admin must act, and is told what.
	w.IDP.RevokeDelegation(w.World.GoogleServiceAccount, w.World.GoogleDomain)
	w.age(55 * time.Minute)
	_, err = w.store.Source("sa", ActorEvmail).Token(ctx)
	var na *NeedsAuthorizationError
	if !errors.As(err, &na) {
		t.Fatalf("delegation withdrawn: %v", err)
	}
	got, _ := w.store.Get(ctx, "sa")
	if got.LastError.Kind != advice.Misconfigured || !strings.Contains(got.Explain(), "Domain-wide delegation") {
		t.Errorf("stored explanation: %s", got.Explain())
	}
}

// A delegated Microsoft token whose app proves itself with a certificate
// refreshes with a client assertion, through the store like any other.
func TestCertificateTokenRefreshes(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	tok := w.authorized(t, "cert", provider.Microsoft)
	set := tok.Settings
	set.ClientSecret, set.ClientKey, set.ClientAuth = secret.Secret{}, secret.New(w.World.MSCertificate), provider.ClientAuthPrivateKeyJWT
	if _, err := w.store.Update(ctx, "cert", set, ActorCLI); err != nil {
		t.Fatal(err)
	}
	// Update keeps the secret when none is given: remove it from the app
	// to prove the certificate alone does the work.
	w.IDP.ExpireSecrets(w.World.MSClientID)
	w.age(55 * time.Minute)
	if _, err := w.store.Source("cert", ActorEvmail).Token(ctx); err != nil {
		t.Fatalf("refresh with a certificate: %v", err)
	}
	if rs := w.IDP.Refreshes(); len(rs) != 1 || rs[0].Outcome != "ok" {
		t.Fatalf("refreshes: %+v", rs)
	}
}
