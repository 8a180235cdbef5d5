package admin

import (
	"context"
	"crypto/x509"
	"net/http"
	"time"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/apicheck"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/tokenstore"
)

// testRun logs in to the given server with the token and shows the
// server's answer (POST /tokens/{id}/test). With a task file chosen, the
// server is verified with the CA that task file names, as its worker
// verifies it.
func (s *Server) testRun(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if s.cfg.Tester == nil {
		s.notFound(w, r)
		return
	}
	f := form.ReadConnTest(r.PostForm)
	host, port, errs := f.Check()
	page := s.testPage(r, t, f)
	var roots *x509.CertPool
	if f.Task != "" {
		tt, terrs := s.readTask(r.Context(), t, f.Task)
		errs = append(errs, terrs...)
		roots, page.CAFile = tt.Roots, tt.CAFile
	}
	page.Errors = errs
	if len(errs) > 0 {
		s.render(w, r, http.StatusBadRequest, "test", sess, "Test "+t.Name, page)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	var res mailconn.TestResult
	if f.WebAPI() {
		if roots == nil {
			roots = s.cfg.Tester.Roots()
		}
		res = apicheck.Check(ctx, s.store.Source(t.Name, actor(sess)), apicheck.Request{Protocol: f.Protocol, URL: f.Server,
			User: f.User, Folder: f.Folder, Roots: roots})
	} else {
		res = s.cfg.Tester.Test(ctx, s.store.Source(t.Name, actor(sess)), mailconn.TestRequest{
			Server: mailserver.Server{Protocol: f.Protocol, Host: host, Port: port, Security: f.Security, RootCAs: roots}, User: f.User})
	}
	s.log.Info("token tested", "token", t.Name, "protocol", f.Protocol, "server", f.Server, "task", f.Task, "ok", res.OK)
	page.Result = &res
	page.Token = s.row(r.Context(), t)
	s.render(w, r, http.StatusOK, "test", sess, "Test "+t.Name, page)
}
