package gmaild

import (
	"net/http"
	"slices"
	"strings"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/mailauth"
)

// Google's Gmail scopes (developers.google.com, "Choose Gmail API
// scopes"). Google tokens carry scopes, not audiences.
const (
	scopeFull     = "https://mail.google.com/"
	scopeModify   = "https://www.googleapis.com/auth/gmail.modify"
	scopeReadonly = "https://www.googleapis.com/auth/gmail.readonly"
	scopeCompose  = "https://www.googleapis.com/auth/gmail.compose"
	scopeSend     = "https://www.googleapis.com/auth/gmail.send"
	scopeLabels   = "https://www.googleapis.com/auth/gmail.labels"
	scopeMetadata = "https://www.googleapis.com/auth/gmail.metadata"
)

// method is one API method: the scopes that allow it (any one of them, as
// each method's reference page lists them) and its quota units (the
// "Usage limits" page).
type method struct {
	name   string
	scopes []string
	units  int
}

var (
	mGetProfile     = method{"getProfile", []string{scopeFull, scopeModify, scopeCompose, scopeReadonly, scopeMetadata}, 1}
	mLabelsList     = method{"labels.list", []string{scopeFull, scopeModify, scopeCompose, scopeReadonly, scopeLabels, scopeMetadata}, 1}
	mMessagesList   = method{"messages.list", []string{scopeFull, scopeModify, scopeReadonly, scopeMetadata}, 5}
	mMessagesGet    = method{"messages.get", []string{scopeFull, scopeModify, scopeReadonly, scopeMetadata}, 5}
	mHistoryList    = method{"history.list", []string{scopeFull, scopeModify, scopeReadonly, scopeMetadata}, 2}
	mMessagesModify = method{"messages.modify", []string{scopeFull, scopeModify}, 5}
	mMessagesTrash  = method{"messages.trash", []string{scopeFull, scopeModify}, 5}
	// Only the full scope deletes for good.
	mMessagesDelete = method{"messages.delete", []string{scopeFull}, 10}
	mMessagesSend   = method{"messages.send", []string{scopeFull, scopeModify, scopeCompose, scopeSend}, 100}
)

// call is one authorized request against one mailbox.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	token   idp.Introspection
	mailbox string // normalized address
	// metadataOnly: the token's one reading scope is gmail.metadata,
	// which may not read bodies (format=raw or full).
	metadataOnly bool
}

// api wraps h: it authenticates the bearer token, checks the method's
// scopes, resolves {user} ("me" or the token's own address) and spends
// the user's quota. The order of the checks is the order of the answers:
// 401, 403 for the scope, 400 for a token without a user, 403 for
// another's mailbox, 400 for a user without a mailbox, 429.
func (s *Server) api(m method, h func(*call) *apiError) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := s.authorizeAndRun(w, r, m, h); e != nil {
			s.writeError(w, e)
		}
	}
}

func (s *Server) authorizeAndRun(w http.ResponseWriter, r *http.Request, m method, h func(*call) *apiError) *apiError {
	auth := r.Header.Get("Authorization")
	if len(auth) < 7 || !strings.EqualFold(auth[:7], "bearer ") || strings.TrimSpace(auth[7:]) == "" {
		return errNoToken
	}
	in := s.opt.Directory.Introspect(strings.TrimSpace(auth[7:]))
	// Gmail takes only Google's tokens; a Microsoft token is as unknown
	// to it as a made-up string.
	if !in.Active || in.Provider != provider.Google {
		return errBadToken
	}
	granted := strings.Fields(in.Scope)
	if !slices.ContainsFunc(m.scopes, func(sc string) bool { return slices.Contains(granted, sc) }) {
		return errScope
	}
	if in.AppOnly || in.Username == "" {
		// A service account's own token (no subject): Gmail has no
		// mailbox for it.
		return errPrecondition
	}
	c := &call{w: w, r: r, token: in, mailbox: mailauth.Normalize(in.Username)}
	if user := r.PathValue("user"); user != "me" && mailauth.Normalize(user) != c.mailbox {
		// A domain-wide delegated service account acts as the user
		// named in its assertion's sub; its token is that user's, so
		// another user's mailbox is refused the same way.
		return delegationDenied(c.mailbox)
	}
	if !s.opt.IMAP.HasMailbox(c.mailbox) {
		return errMailDisabled
	}
	c.metadataOnly = !slices.ContainsFunc([]string{scopeFull, scopeModify, scopeReadonly}, func(sc string) bool { return slices.Contains(granted, sc) })
	if e := s.throttle.spend(c.mailbox, m.units, s.now(), s.opt); e != nil {
		return e
	}
	return h(c)
}
