package admin

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"mailtokens/internal/admin/form"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
)

// taskTarget is what a task file says about the server its worker logs in
// to: the Test form filled in, and the CA the worker trusts.
type taskTarget struct {
	Form   form.ConnTest
	CAFile string         // the task's *_TLS_CA_FILE, "" when it names none
	Roots  *x509.CertPool // the CA file's certificates; nil = the tester's roots
}

// taskChoices are the task files known to use a token, each once, for the
// Test form's choice.
func taskChoices(tasks []tokenstore.TaskUse) []tokenstore.TaskUse {
	seen := map[string]bool{}
	var out []tokenstore.TaskUse
	for _, u := range tasks {
		if (u.Actor == tokenstore.ActorEvmail || u.Actor == tokenstore.ActorBatchmail) && !seen[u.Task] {
			seen[u.Task] = true
			out = append(out, u)
		}
	}
	return out
}

// readTask reads the task file at path — one the store knows to use t,
// never any other file — as its worker would. Problems are field errors
// on the task choice naming the file (and the line, when taskconf says).
// Only the server, security, user and CA file are taken from it: the
// password a task may hold is never read into the page.
func (s *Server) readTask(ctx context.Context, t *tokenstore.Token, path string) (taskTarget, fielderr.List) {
	var tt taskTarget
	var errs fielderr.List
	tasks, err := s.store.Tasks(ctx, t.Name)
	if err != nil {
		s.log.Error("read the token's tasks", "token", t.Name, "err", err)
	}
	var use *tokenstore.TaskUse
	for _, u := range taskChoices(tasks) {
		if u.Task == path {
			use = &u
			break
		}
	}
	if use == nil {
		errs.Add(form.FieldTask, fmt.Sprintf("%q is not a task file known to use %s: choose one from the list", path, t.Name))
		return tt, errs
	}
	var w taskconf.Worker
	var caKey, apiURL, folder string
	switch use.Actor {
	case tokenstore.ActorEvmail:
		var cfg *taskconf.Evmail
		if cfg, _, err = taskconf.LoadEvmail(path); cfg != nil {
			w, apiURL, folder = cfg.Worker, cfg.APIURL, cfg.Folder
		}
		caKey = "MAILBOX_TLS_CA_FILE"
	default:
		var cfg *taskconf.Batchmail
		if cfg, _, err = taskconf.LoadBatchmail(path); cfg != nil {
			w, apiURL = cfg.Worker, cfg.APIURL
		}
		caKey = "MAIL_TLS_CA_FILE"
	}
	if err != nil {
		return tt, taskErrors(path, use.Host, err)
	}
	tt.Form = form.ConnTest{Protocol: w.Protocol, Server: w.Addr(), Security: w.Security, User: w.User, Task: path}
	if tt.Form.WebAPI() {
		// The API's address; evmail's folder is read, batchmail's check
		// is whether it may send.
		tt.Form.Server, tt.Form.Folder = apiURL, folder
	}
	if w.CAFile != "" && w.Security != mailserver.NONE {
		tt.CAFile = w.CAFile
		// Only the file's CAs, as the worker trusts them: a pass here
		// means the worker gets in.
		if tt.Roots, err = mailconn.RootsFromFile(w.CAFile, false); err != nil {
			errs.Add(form.FieldTask, fmt.Sprintf("%s: %s: %v", path, caKey, err))
		}
	}
	return tt, errs
}

// taskErrors are a task file's problems as field errors, each naming the
// file and, when taskconf knows it, the line.
func taskErrors(path, host string, err error) fielderr.List {
	var errs fielderr.List
	var ps taskconf.Problems
	var pe *fs.PathError
	switch {
	case errors.As(err, &ps):
		for _, p := range ps {
			where := path
			if p.Line > 0 {
				where = fmt.Sprintf("%s: line %d", path, p.Line)
			}
			what := p.Message
			if p.Key != "" {
				what = p.Key + " " + p.Message
			}
			errs.Add(form.FieldTask, where+": "+what)
		}
	case errors.As(err, &pe):
		msg := fmt.Sprintf("%s cannot be read here: %v", path, pe.Err)
		if me, _ := os.Hostname(); host != "" && host != me {
			msg += fmt.Sprintf("; it is on %s, so enter its server by hand", host)
		}
		errs.Add(form.FieldTask, msg)
	default:
		errs.Add(form.FieldTask, fmt.Sprintf("%s: %v", path, err))
	}
	return errs
}
