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
	// Tasks are the task files known to use the token, to test for one;
	// Chosen is the one picked (read or not).
	Tasks  []tokenstore.TaskUse
	Chosen string
	CAFile string // the chosen task's CA file, when it names one
}

// testShow shows the Test form (GET /tokens/{id}/test); with ?task= a task
// file known to use the token, filled in from it.
func (s *Server) testShow(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if s.cfg.Tester == nil {
		s.notFound(w, r)
		return
	}
	page := s.testPage(r, t, form.DefaultConnTest(string(t.Type), t.Email))
	status := http.StatusOK
	if page.Chosen = r.URL.Query().Get(form.FieldTask); page.Chosen != "" {
		tt, errs := s.readTask(r.Context(), t, page.Chosen)
		if page.Errors = errs; len(errs) == 0 {
			page.Form, page.CAFile = tt.Form, tt.CAFile
		} else {
			status = http.StatusBadRequest
		}
	}
	s.render(w, r, status, "test", sess, "Test "+t.Name, page)
}

// testPage is the Test page for t with f in its form.
func (s *Server) testPage(r *http.Request, t *tokenstore.Token, f form.ConnTest) testPage {
	tasks, err := s.store.Tasks(r.Context(), t.Name)
	if err != nil {
		s.log.Error("read the token's tasks", "token", t.Name, "err", err)
	}
	return testPage{Token: s.rowOf(t, tasks), Form: f, Tasks: taskChoices(tasks), Chosen: f.Task}
}
