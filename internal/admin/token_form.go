package admin

import (
	"errors"
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// formPage is the add/edit form, shared by the four handlers that show and
// accept it.
type formPage struct {
	Form      form.Token
	Errors    fielderr.List
	Editing   bool
	HasSecret bool // editing a token whose secret is stored: an empty field keeps it
	Action    string
	Types     []typeOption
	Scopes    []scopeOption
	// Discovered is what Discover found, shown above the fields it filled.
	Discovered *provider.Discovery
}

type typeOption struct {
	Value, Label string
	Selected     bool
}

// scopeOption is a quick pick in the scope guide. A retired one is listed
// with what replaces it, and without a button to add it.
type scopeOption struct {
	Type, Use, Scope string
	Retired          string
}

var scopeGuide = []scopeOption{
	{Type: "microsoft", Use: "IMAP (receive)", Scope: provider.MicrosoftIMAPScope},
	{Type: "microsoft", Use: "POP3 (receive)", Scope: provider.MicrosoftPOPScope},
	{Type: "microsoft", Use: "SMTP (send)", Scope: provider.MicrosoftSMTPScope},
	{Type: "microsoft", Use: "Graph: send (MAIL_PROTOCOL = GRAPH) — a token of its own", Scope: provider.MicrosoftGraphSendScope},
	{Type: "microsoft", Use: "Graph: read, move, delete (MAILBOX_PROTOCOL = GRAPH) — a token of its own", Scope: provider.MicrosoftGraphReadWriteScope},
	{Type: "microsoft", Use: "Graph, app-only (application permissions Mail.Send, Mail.ReadWrite; RBAC for Applications scopes the mailboxes)", Scope: provider.MicrosoftGraphAppOnlyScope},
	{Type: "microsoft", Use: "Exchange Web Services", Scope: provider.MicrosoftEWSScope, Retired: provider.EWSRetired},
	{Type: "google", Use: "IMAP, POP3 and SMTP", Scope: provider.GoogleMailScope},
	{Type: "google", Use: "Gmail API: send only (MAIL_PROTOCOL = GMAIL_API)", Scope: provider.GoogleGmailSendScope},
	{Type: "google", Use: "Gmail API: read, label, trash and send (MAILBOX_PROTOCOL = GMAIL_API)", Scope: provider.GoogleGmailModifyScope},
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, sess *accounts.Session, status int, p formPage) {
	p.Scopes = scopeGuide
	for _, t := range provider.Types {
		p.Types = append(p.Types, typeOption{string(t), t.Label(), p.Form.Type == string(t)})
	}
	title := "Add a new email token"
	if p.Editing {
		title = "Edit " + p.Form.Name
	}
	s.render(w, r, status, "form", sess, title, p)
}

// storeErrors turns the store's refusals into field errors (by field
// identifier, as the form reports its own), or nil for other failures.
func storeErrors(err error) fielderr.List {
	var l fielderr.List
	switch {
	case errors.As(err, &l):
		return l
	case errors.Is(err, tokenstore.ErrDuplicateName):
		return fielderr.List{{Field: tokenstore.FieldName, Message: "is taken: a token with this name exists already; choose another name"}}
	}
	return nil
}
