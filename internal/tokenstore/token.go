package tokenstore

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"mailtokens/internal/advice"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
)

// Status is where a token is in its lifecycle: new, then valid (refreshed
// in place while the refresh token works), refresh_failing while the
// provider has temporary trouble, needs_authorization when a person must
// act, valid again after Get Email Token; revoked after Revoke.
type Status string

// The lifecycle states. Stored as text; never renamed.
const (
	StatusNew                Status = "new"                 // no token yet: an admin must click Get Email Token
	StatusValid              Status = "valid"               // usable; refreshed in place as needed
	StatusRefreshFailing     Status = "refresh_failing"     // transient provider or network trouble; retried with backoff
	StatusNeedsAuthorization Status = "needs_authorization" // a person must act (sign in again, fix the app)
	StatusRevoked            Status = "revoked"             // revoked by an admin
)

// Grant is how a token was obtained.
type Grant string

// The ways to obtain a token.
const (
	GrantNone              Grant = ""
	GrantAuthorizationCode Grant = "authorization_code"
	GrantDeviceCode        Grant = "device_code"
	GrantClientCredentials Grant = "client_credentials"
	// GrantServiceAccount is a Google service account's JWT bearer grant
	// (RFC 7523) for the token's mailbox.
	GrantServiceAccount Grant = "service_account"
	GrantPasted         Grant = "pasted"
)

// AppOnly reports whether the grant needs no person: the app proves
// itself (a secret, a certificate, a service account's key) and gets a
// new access token whenever one is needed, without a refresh token.
func (g Grant) AppOnly() bool { return g == GrantClientCredentials || g == GrantServiceAccount }

// Actor is who or what acted on a token: "admin" or "admin:<user>", "cli",
// "evmail", "batchmail".
type Actor string

// The actors the programs use.
const (
	ActorAdmin     Actor = "admin"
	ActorCLI       Actor = "cli"
	ActorEvmail    Actor = "evmail"
	ActorBatchmail Actor = "batchmail"
	// ActorServe is evadmin serve's own work (refreshing idle tokens).
	ActorServe Actor = "evadmin serve"
)

// AdminUser is the actor for a named admin of the web utility.
func AdminUser(name string) Actor { return Actor("admin:" + name) }

// Settings are the fields an admin enters for a token: its name, the app
// registration at the provider, and the client secret's expiry.
//
// Of the embedded [provider.Config] the store keeps everything but the
// redirect URL and the HTTP client, which belong to the program that talks
// to the provider ([Store.ProviderConfig]). ClientSecret and ClientKey are
// sealed.
type Settings struct {
	Name string // unique (case-insensitively); what task files refer to
	provider.Config
	SecretExpiresOn time.Time // the client secret's expiry date, when the admin knows it; zero = unknown
	// KeyExpiresOn is the client key's expiry (a certificate's notAfter);
	// zero = unknown or none. An Update that keeps the stored key and
	// gives none keeps its expiry.
	KeyExpiresOn time.Time
	// DropClientKey makes Update forget the stored client key (and its
	// expiry): the token goes back to its client secret.
	DropClientKey bool
}

// Token is one named token: its settings and its state.
type Token struct {
	ID int64
	Settings
	Default bool

	Grant        Grant
	AccessToken  secret.Secret
	RefreshToken secret.Secret

	// HasClientSecret, HasAccessToken and HasRefreshToken tell what is
	// stored even when List leaves the secrets themselves out.
	HasClientSecret bool
	HasClientKey    bool
	HasAccessToken  bool
	HasRefreshToken bool

	Expiry          time.Time // access token
	AccessIssuedAt  time.Time
	GrantedScope    string
	AuthorizedAt    time.Time // last Get Email Token (or device, app-only, paste)
	RefreshIssuedAt time.Time // when the current refresh token was issued
	RefreshUsedAt   time.Time // last successful use of the refresh token
	// RefreshExpiresAt is when the refresh token dies, if the provider said
	// (Google apps in "Testing": 7 days); zero = not stated.
	RefreshExpiresAt time.Time

	Status          Status
	LastError       ErrorInfo
	RefreshFailures int
	NextRefreshAt   time.Time // while refresh is failing: not before this

	LastUsedAt time.Time
	LastUsedBy Actor

	// SignedInAs is the account that last signed in for the token (from
	// the ID token or the userinfo endpoint); "" when unknown.
	SignedInAs string
	// AccountConfirmed is the signed-in account an admin confirmed has
	// access to the token's mailbox (a shared mailbox), when it differs
	// from Email.
	AccountConfirmed string

	// RejectionRefreshAt is when a mail server's refusal of the access
	// token last forced a refresh; zero when none did since an admin last
	// acted on the token.
	RejectionRefreshAt time.Time
	// RejectionEpisode: the access token is the one that forced refresh
	// got, so a mail server refusing it has a problem a refresh does not
	// cure. It ends when the token is refreshed near its expiry or an admin
	// acts (Get Email Token, paste, edit, Refresh now).
	RejectionEpisode bool

	CreatedAt, UpdatedAt time.Time
	// Generation counts changes to the token material; the refresh
	// coordination compares it to notice other processes' work.
	Generation int64
}

// ErrorInfo is the last failure recorded for a token, kept as what it
// was, so that its explanation and whether it is retried derive from the
// same facts as the token's status.
type ErrorInfo struct {
	// Code is the provider's OAuth2 error code, or, when the answer had
	// none: ErrorHTTP (an answer that is not OAuth2: a proxy's HTML page, a
	// 404, a redirect), ErrorTimeout or ErrorNetwork (no answer).
	Code       string
	Text       string      // the provider's description (Microsoft's starts with AADSTSnnnn:), capped
	Kind       advice.Kind // who must act
	HTTPStatus int         // 0 when no answer came
	Op         string      // what failed: OpRefresh or OpSignIn
	At         time.Time
}

// The codes stored for failures without an OAuth2 error code.
const (
	ErrorNetwork = "network"
	ErrorTimeout = "timeout"
	ErrorHTTP    = "http"
)

// What a recorded error came from.
const (
	OpRefresh = "refresh"
	OpSignIn  = "sign-in"
)

// IsZero reports whether no error is recorded.
func (e ErrorInfo) IsZero() bool { return e.Code == "" && e.Text == "" }

// Explain is the plain-words advice for the recorded error.
func (t *Token) Explain() string {
	if e := t.lastError(); e != nil {
		return advice.Explain(e)
	}
	return ""
}

// lastError rebuilds the recorded error as the provider package's, or nil.
func (t *Token) lastError() *provider.Error {
	e := t.LastError
	if e.IsZero() {
		return nil
	}
	code := e.Code
	switch code {
	case ErrorNetwork, ErrorTimeout, ErrorHTTP:
		code = "" // no OAuth2 code: Text is the cause's
	}
	op := e.Op
	if op == "" {
		op = OpRefresh
	}
	return t.Recall(op, e.Kind, e.HTTPStatus, code, e.Text)
}

// maxStoredText caps provider text kept in a token and its events: a
// provider once sent a 900 KB error_description.
const maxStoredText = 2000

// capText cuts s to at most maxStoredText bytes, at a character boundary.
func capText(s string) string {
	if len(s) <= maxStoredText {
		return s
	}
	const more = "…"
	cut := maxStoredText - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,62}[A-Za-z0-9._@+-]$|^[A-Za-z0-9]$`)

// Identifiers of the Settings' own fields, as problems with them name them
// ([fielderr.Error]); the embedded Config's are provider.Field*.
const (
	FieldName            = "name"
	FieldSecretExpiresOn = "secret_expires_on"
)

// Validate checks the settings and reports every problem as a
// [fielderr.List], naming fields by their identifiers (FieldName,
// provider.FieldTenant, ...).
func (s *Settings) Validate() error {
	var errs fielderr.List
	switch {
	case s.Name == "":
		errs.Add(FieldName, "is required: task files refer to the token by this name")
	case !nameRE.MatchString(s.Name):
		errs.Add(FieldName, fmt.Sprintf("%q: use 1 to 64 letters, digits, spaces and . _ @ + -, starting with a letter or digit", s.Name))
	}
	if s.Email != "" && (!strings.Contains(s.Email, "@") || strings.ContainsAny(s.Email, " \t\r\n<>,;")) {
		errs.Add(provider.FieldEmail, fmt.Sprintf("%q is not an email address", s.Email))
	}
	if err := s.Config.Validate(); err != nil {
		errs = append(errs, err.(fielderr.List)...)
	}
	return errs.Err()
}
