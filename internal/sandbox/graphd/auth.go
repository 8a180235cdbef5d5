package graphd

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/mailauth"
)

// graphAudience is the resource Graph's tokens are for; Entra puts either
// the identifier URI or the app ID in "aud".
var graphAudiences = []string{"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}

// permission is what a request needs.
type permission int

const (
	permRead permission = iota
	permWrite
	permSend
)

// scopes lists, per permission, the delegated scopes for the user's own
// mailbox, for another mailbox (the .Shared ones, which also cover one's
// own), and the application roles that grant it.
var scopes = map[permission]struct{ own, shared, app []string }{
	permRead:  {[]string{"Mail.Read", "Mail.ReadWrite"}, []string{"Mail.Read.Shared", "Mail.ReadWrite.Shared"}, []string{"Mail.Read", "Mail.ReadWrite"}},
	permWrite: {[]string{"Mail.ReadWrite"}, []string{"Mail.ReadWrite.Shared"}, []string{"Mail.ReadWrite"}},
	permSend:  {[]string{"Mail.Send"}, []string{"Mail.Send.Shared"}, []string{"Mail.Send"}},
}

// call is one authorized request against one mailbox.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	token   idp.Introspection
	mailbox string // normalized address
	app     string // the token's client ID, lowercased: the throttling key with mailbox
}

// api wraps h: it authenticates the bearer token, finds the mailbox (the
// {user} of the path, or the token's user for /me), checks the permission
// and the mailbox, and holds one of the app's concurrency slots for the
// mailbox while h runs. The order of the checks is the order of the
// answers: 401, 403 for a missing scope or role, 404 for an unknown or
// REST-disabled mailbox, 403 for a mailbox out of reach, 429.
func (s *Server) api(perm permission, h func(*call) *apiError) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := s.authorizeAndRun(w, r, perm, h); e != nil {
			s.writeError(w, e)
		}
	}
}

func (s *Server) authorizeAndRun(w http.ResponseWriter, r *http.Request, perm permission, h func(*call) *apiError) *apiError {
	in, e := s.authenticate(r)
	if e != nil {
		return e
	}
	c := &call{w: w, r: r, token: in, app: strings.ToLower(in.ClientID)}
	user := r.PathValue("user")
	if user == "" { // /me
		if in.AppOnly {
			return errMeAppOnly
		}
		user = in.Username
	}
	c.mailbox = mailauth.Normalize(user)
	need := scopes[perm]
	if in.AppOnly {
		if !hasAny(in.Scope, need.app) {
			return errAccessDenied
		}
	} else if !hasAny(in.Scope, need.own) && !hasAny(in.Scope, need.shared) {
		return errAccessDenied
	}
	if !s.opt.IMAP.HasMailbox(c.mailbox) {
		return invalidUser(user)
	}
	s.mu.Lock()
	disabled := s.disabled[c.mailbox]
	scope, scoped := s.appScope[c.app]
	s.mu.Unlock()
	if disabled {
		return errRESTDisabled
	}
	switch {
	case in.AppOnly:
		if scoped && !scope[c.mailbox] {
			return errAccessDenied
		}
	case c.mailbox == in.Username:
		if !hasAny(in.Scope, need.own) && !hasAny(in.Scope, need.shared) {
			return errAccessDenied
		}
	default:
		if !hasAny(in.Scope, need.shared) || !s.opt.Directory.HasFullAccess(c.mailbox, in.Username) {
			return errAccessDenied
		}
	}
	release, e := s.throttle.acquire(c.app, c.mailbox, s.now(), s.opt)
	if e != nil {
		return e
	}
	defer release()
	return h(c)
}

// authenticate checks the bearer token: live at the provider and meant
// for Graph.
func (s *Server) authenticate(r *http.Request) (idp.Introspection, *apiError) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") || strings.TrimSpace(h[7:]) == "" {
		return idp.Introspection{}, errTokenEmpty
	}
	tok := strings.TrimSpace(h[7:])
	in := s.opt.Directory.Introspect(tok)
	if !in.Active {
		return in, s.whyInactive(tok)
	}
	if in.Provider != provider.Microsoft || !hasAny(in.Audience, graphAudiences) {
		return in, errTokenAudience
	}
	return in, nil
}

// whyInactive words the refusal of a token the provider does not know as
// live: Graph reads the JWT itself, so it tells a string that is no JWT
// and an expired token apart from other failures.
func (s *Server) whyInactive(tok string) *apiError {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errTokenMalformed
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return errTokenInvalid
	}
	var claims struct {
		Exp int64  `json:"exp"`
		Aud string `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return errTokenInvalid
	}
	if claims.Aud != "" && !hasAny(claims.Aud, graphAudiences) {
		return errTokenAudience
	}
	if claims.Exp != 0 && !s.now().Before(time.Unix(claims.Exp, 0)) {
		return errTokenExpired
	}
	return errTokenInvalid
}

// hasAny reports whether the space-separated list has one of want
// (case-insensitive, as Entra compares permissions).
func hasAny(list string, want []string) bool {
	for _, f := range strings.Fields(list) {
		for _, w := range want {
			if strings.EqualFold(f, w) {
				return true
			}
		}
	}
	return false
}
