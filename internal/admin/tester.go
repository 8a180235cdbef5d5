package admin

import (
	"context"
	"crypto/x509"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/tokenstore"
)

// Tester logs in to a mail server with a token — mailconn.Tester, the same
// code the workers use to log in, so a passing test means the workers will
// get in.
type Tester interface {
	Test(ctx context.Context, src *tokenstore.Source, req mailconn.TestRequest) mailconn.TestResult
	// Roots are the CAs it trusts (nil: the system's), for the web APIs'
	// checks too.
	Roots() *x509.CertPool
}
