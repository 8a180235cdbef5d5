package idp

import (
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// state is everything the sandbox remembers. It is embedded in Server and
// guarded by Server.mu; methods named ...Locked expect the lock to be held.
type state struct {
	tenants      map[string]*Tenant // by lowercase ID
	apps         map[string]*app    // by client ID
	users        map[string]*user   // by userKey
	adminConsent map[adminConsentKey]bool
	consents     map[consentKey]*consent
	// serviceAccounts are Google service accounts, by lowercase email.
	serviceAccounts map[string]*serviceAccount

	pending       map[string]*pendingAuth // sign-in pages in progress, by hidden request id
	codes         map[string]*authCode
	refreshTokens map[string]*refreshToken
	accessTokens  map[string]*accessToken
	devices       map[string]*deviceAuth // by device_code
	userCodes     map[string]*deviceAuth // by normalized user code

	// mfaSince holds, per lowercase email, the sequence number at which MFA
	// became required; grants signed in earlier fail AADSTS50076. Sequence
	// numbers rather than times keep "before" unambiguous when a fake clock
	// does not move between two events.
	mfaSince map[string]uint64
	seq      uint64

	rotation          bool
	accessLifetime    time.Duration
	refreshInactivity time.Duration
	signInFrequency   time.Duration
	deviceInterval    int
	minimalIDTokens   bool // ID tokens without the account (SetMinimalIDTokens)

	std          StdOptions   // the standards issuer's switches (standard.go)
	stdAuthorize []url.Values // queries that reached its authorization endpoint
	revocations  []Revocation // requests that reached its revocation endpoint

	faults        []*Fault
	refreshes     []RefreshRecord
	tokenRequests map[string]int
}

func (st *state) init() {
	st.tenants = map[string]*Tenant{}
	st.apps = map[string]*app{}
	st.users = map[string]*user{}
	st.adminConsent = map[adminConsentKey]bool{}
	st.consents = map[consentKey]*consent{}
	st.serviceAccounts = map[string]*serviceAccount{}
	st.pending = map[string]*pendingAuth{}
	st.codes = map[string]*authCode{}
	st.refreshTokens = map[string]*refreshToken{}
	st.accessTokens = map[string]*accessToken{}
	st.devices = map[string]*deviceAuth{}
	st.userCodes = map[string]*deviceAuth{}
	st.mfaSince = map[string]uint64{}
	st.tokenRequests = map[string]int{}
	st.rotation = true
	st.accessLifetime = defaultAccessTokenLifetime
	st.refreshInactivity = defaultRefreshInactivity
	st.deviceInterval = defaultDeviceInterval
}

func (st *state) nextSeq() uint64 {
	st.seq++
	return st.seq
}

// app is a registered App plus what the directory adds to it.
type app struct {
	App
	servicePrincipal string // object ID used as "oid"/"sub" of app-only tokens
}

// user is a registered User plus its directory object ID.
type user struct {
	User
	objectID string
}

func userKey(f provider.Type, email string) string { return string(f) + "|" + strings.ToLower(email) }

type adminConsentKey struct{ clientID, tenantID string }

type consentKey struct{ clientID, email string }

func newConsentKey(clientID, email string) consentKey {
	return consentKey{clientID, strings.ToLower(email)}
}

// consent is what a user granted an app, as the account's "apps with access"
// page would list it. Withdrawing it (RevokeConsent, Google /revoke) ends
// every grant made under it.
type consent struct {
	scopes map[string]bool // Microsoft: resource-qualified scopes consented so far
	// offlineGranted: Google has already handed this app a refresh token for
	// this user; later sign-ins get none unless prompt=consent.
	offlineGranted bool
	grants         []*grant
	// googleRefresh lists the live Google refresh tokens, oldest first, to
	// enforce Google's limit of 100 per account and client.
	googleRefresh []*refreshToken
}

// grant is one sign-in's authorization: what a refresh token chain and its
// access tokens stand for.
type grant struct {
	id       string // shown as the "sid" claim
	provider provider.Type
	app      *app
	user     *user
	tenantID string   // Microsoft: the user's tenant, the tokens' "tid"
	ms       msScopes // Microsoft: the scopes requested at sign-in
	google   []string // Google: the canonical scopes granted
	std      []string // the standards issuer: the scopes granted
	offline  bool     // a refresh token belongs to this grant

	signInAt  time.Time
	signInSeq uint64

	consentRevoked bool // refresh fails (AADSTS65001 / Google invalid_grant)
	revoked        bool // Google: the grant's access tokens die too
}

// refreshToken is one issued refresh token.
type refreshToken struct {
	value    string
	grant    *grant
	issuedAt time.Time
	lastUsed time.Time
	rotated  bool // Microsoft: replaced by a newer token at a refresh
	revoked  bool // Google: pushed out by the per-client limit
}

// accessToken is one issued access token, as a resource server would learn
// about it by introspection.
type accessToken struct {
	value     string
	provider  provider.Type
	grant     *grant // nil for app-only tokens
	app       *app
	tenantID  string
	audience  string
	scope     string // space-separated: scp for delegated, roles for app-only
	subject   string
	issuedAt  time.Time
	expiresAt time.Time
	appOnly   bool
}

// authCode is an authorization code waiting to be redeemed.
type authCode struct {
	value       string
	grant       *grant
	redirectURI string
	challenge   string
	method      string
	issuedAt    time.Time
	nonce       string // the authorization request's, for the ID token
	redeemed    bool
	// issueRefresh: Google decides at consent time whether this code yields a
	// refresh token (first consent, or prompt=consent).
	issueRefresh bool
}

// pendingAuth is a validated authorization request whose sign-in page is on
// screen; the page carries its id in a hidden field.
type pendingAuth struct {
	id          string
	provider    provider.Type
	app         *app
	path        string  // the page's own path, for the form's action
	pathTenant  *Tenant // Microsoft: nil for common/organizations
	redirectURI string
	state       string
	challenge   string
	method      string
	prompt      string
	loginHint   string
	accessType  string // Google
	nonce       string // OpenID Connect, echoed in the ID token of the code's answer
	ms          msScopes
	google      []string
	std         []string // the standards issuer
	createdAt   time.Time
}

// revokeConsentLocked withdraws a user's consent for an app and ends the
// grants made under it.
func (s *Server) revokeConsentLocked(clientID, email string) {
	key := newConsentKey(clientID, email)
	c := s.consents[key]
	if c == nil {
		return
	}
	for _, g := range c.grants {
		g.consentRevoked = true
		if g.provider == provider.Google {
			g.revoked = true
		}
	}
	delete(s.consents, key)
}

// consentLocked returns the consent record of (app, user), creating it.
func (s *Server) consentLocked(a *app, u *user) *consent {
	key := newConsentKey(a.ClientID, u.Email)
	c := s.consents[key]
	if c == nil {
		c = &consent{scopes: map[string]bool{}}
		s.consents[key] = c
	}
	return c
}

// newGrantLocked records an interactive sign-in (or device approval) as a
// grant under the user's consent.
func (s *Server) newGrantLocked(f provider.Type, a *app, u *user, tenantID string) *grant {
	g := &grant{
		id:        newUUID(),
		provider:  f,
		app:       a,
		user:      u,
		tenantID:  tenantID,
		signInAt:  s.clock.Now(),
		signInSeq: s.nextSeq(),
	}
	c := s.consentLocked(a, u)
	c.grants = append(c.grants, g)
	return g
}

// checkCredentialsLocked looks the user up and checks the password. It
// returns nil, false for an unknown user and u, false for a wrong password.
func (s *Server) checkCredentialsLocked(f provider.Type, email, password string) (*user, bool) {
	u := s.users[userKey(f, strings.TrimSpace(email))]
	if u == nil {
		return nil, false
	}
	return u, constantTimeEqual(u.Password, password)
}

// newPendingLocked stores a validated authorization request for its page.
func (s *Server) newPendingLocked(p *pendingAuth) {
	p.id = randomURLSafe(32)
	p.createdAt = s.clock.Now()
	s.pending[p.id] = p
}

// pendingLocked returns a live pending request, or nil.
func (s *Server) pendingLocked(id string, f provider.Type) *pendingAuth {
	p := s.pending[id]
	if p == nil || p.provider != f || s.clock.Now().Sub(p.createdAt) > pendingLifetime {
		return nil
	}
	return p
}

// recordTokenRequestLocked counts a token-endpoint request by grant type.
func (s *Server) recordTokenRequestLocked(grantType string) {
	s.tokenRequests[grantType]++
}
