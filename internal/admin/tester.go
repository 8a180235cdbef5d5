package admin

import (
	"context"

	"mailtokens/internal/tokenstore"
)

// TestRequest is a login to try with a token.
type TestRequest struct {
	Protocol string // IMAP, POP3, SMTP
	Host     string
	Port     int
	Security string // SSL, STARTTLS, NONE
	User     string
}

// TestResult is how the login went, with the server's own words.
type TestResult struct {
	OK         bool
	Summary    string   // one line
	Advice     string   // what to do, when it failed
	Transcript []string // the conversation, credentials hidden
}

// Tester logs in to a mail server with a token — the same code the workers
// use to log in, so a passing test means the workers will get in.
type Tester interface {
	Test(ctx context.Context, src *tokenstore.Source, req TestRequest) TestResult
}
