package admin

import (
	"context"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/tokenstore"
)

// Tester logs in to a mail server with a token — mailconn.Tester, the same
// code the workers use to log in, so a passing test means the workers will
// get in.
type Tester interface {
	Test(ctx context.Context, src *tokenstore.Source, req mailconn.TestRequest) mailconn.TestResult
}
