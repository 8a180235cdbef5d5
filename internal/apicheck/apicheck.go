// Package apicheck checks what a web-API task (Microsoft Graph, the
// Gmail API) would do with a token, without changing the mailbox: read a
// folder, or send as the mailbox. `evadmin token test --graph|--gmail-api`
// and the token page's Test button use it.
package apicheck

import (
	"context"
	"crypto/x509"
	"fmt"

	"mailtokens/internal/advice"
	"mailtokens/internal/bearer"
	"mailtokens/internal/gmailapi"
	"mailtokens/internal/graph"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
)

// Request is what to check.
type Request struct {
	Protocol mailserver.Protocol // GRAPH or GMAIL_API
	URL      string              // the API's address
	User     string              // the mailbox
	// Folder, when set, is the folder (Graph) or label (Gmail) to read;
	// empty checks sending instead.
	Folder string
	Roots  *x509.CertPool // nil: the system's
}

// Check runs the check and says how it went, as the Test button shows a
// mail server's login.
func Check(ctx context.Context, tokens mailconn.Tokens, req Request) mailconn.TestResult {
	var what string
	var err error
	switch req.Protocol {
	case mailserver.GRAPH:
		c := &graph.Client{Base: req.URL, HTTP: graph.NewHTTPClient(req.Roots), Tokens: tokens, Mailbox: req.User}
		if req.Folder != "" {
			what, err = c.CanRead(ctx, req.Folder)
		} else {
			what, err = c.CanSend(ctx)
		}
	case mailserver.GMAILAPI:
		c := &gmailapi.Client{Base: req.URL, HTTP: bearer.NewHTTPClient(req.Roots, 1), Tokens: tokens, User: req.User}
		if req.Folder != "" {
			what, err = c.CanRead(ctx, req.Folder)
		} else {
			what, err = c.CanSend(ctx)
		}
	default:
		err = fmt.Errorf("%s is not a web API: use GRAPH or GMAIL_API", req.Protocol)
	}
	if err != nil {
		text, _ := advice.Of(err)
		return mailconn.TestResult{Summary: err.Error(), Advice: text}
	}
	return mailconn.TestResult{OK: true, Summary: what}
}
