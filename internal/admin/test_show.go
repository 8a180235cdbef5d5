package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/tokenstore"
)

// testPage is the Test form; testRun shows it again with errors or the
// server's answer.
type testPage struct {
	Token  tokenRow
	Form   form.ConnTest
	Errors fielderr.List
	Result *mailconn.TestResult
}

// testShow shows the Test form (GET /tokens/{id}/test).
func (s *Server) testShow(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if s.cfg.Tester == nil {
		s.notFound(w, r)
		return
	}
	s.render(w, r, http.StatusOK, "test", sess, "Test "+t.Name, testPage{Token: s.row(r.Context(), t), Form: form.DefaultConnTest(string(t.Type), t.Email)})
}
