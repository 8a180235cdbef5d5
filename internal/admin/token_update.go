package admin

import (
	"context"
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/tokenstore"
)

// tokenUpdate saves an edited token (POST /tokens/{id}/edit). An empty
// secret field keeps the stored secret. A rename breaks the task files
// that name the token: it is saved once confirmed (see askFirst; the
// confirmed request carries only the key, the form stays here), and the
// message afterwards lists the task files to edit.
func (s *Server) tokenUpdate(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	values, confirmed := r.PostForm, r.PostForm.Has("confirm")
	if confirmed {
		v, ok := s.confirmation(w, r, sess, t, "edit")
		if !ok {
			return
		}
		values = v
	}
	f := form.ReadToken(values)
	f.Key = f.Key.WithStored(t)
	if !confirmed && form.Discovering(values) {
		s.tokenDiscover(w, r, sess, formPage{Form: f, Editing: true, HasSecret: t.HasClientSecret, Action: tokenURL(t) + "/edit"})
		return
	}
	set, errs := f.Settings(!t.HasClientSecret && t.Type != "generic")
	renamed := !sameName(t.Name, set.Name)
	if len(errs) == 0 && renamed && !confirmed {
		if errs = s.nameTaken(r.Context(), t, set.Name); len(errs) == 0 {
			s.askFirst(w, r, sess, t, renameGuard(t, set.Name), values)
			return
		}
	}
	if len(errs) == 0 {
		u, err := s.store.Update(r.Context(), t.Name, set, actor(sess))
		if err == nil {
			s.log.Info("token edited", "token", u.Name, "admin", sess.Admin.Name)
			if renamed {
				s.flashRenamed(r.Context(), sess, t.Name, u)
			} else {
				s.flashOK(sess, "Token "+u.Name+" saved.")
			}
			seeOther(w, r, tokenURL(u))
			return
		}
		if errs = storeErrors(err); errs == nil {
			s.log.Error("update token", "token", t.Name, "err", err)
			s.renderError(w, r, http.StatusInternalServerError, "The token could not be saved: "+err.Error())
			return
		}
	}
	s.renderForm(w, r, sess, http.StatusBadRequest, formPage{Form: f, Errors: errs, Editing: true,
		HasSecret: t.HasClientSecret, Action: tokenURL(t) + "/edit"})
}

// nameTaken refuses renaming t to a name another token has, before the
// rename is confirmed.
func (s *Server) nameTaken(ctx context.Context, t *tokenstore.Token, name string) fielderr.List {
	names, err := s.store.Names(ctx)
	if err != nil {
		return nil // the update finds out
	}
	for _, n := range names {
		if sameName(n, name) && !sameName(n, t.Name) {
			return storeErrors(tokenstore.ErrDuplicateName)
		}
	}
	return nil
}

// flashRenamed says that the rename is saved and which task files must now
// be edited.
func (s *Server) flashRenamed(ctx context.Context, sess *accounts.Session, old string, u *tokenstore.Token) {
	msg := "Token " + u.Name + " saved, renamed from " + old + "."
	tasks, err := s.store.Tasks(ctx, u.Name)
	switch {
	case err != nil:
		s.log.Error("read tasks", "token", u.Name, "err", err)
		s.flashWarn(sess, msg, "Edit every task file that names "+old+" to name "+u.Name+" (the task files using it could not be read: "+err.Error()+").")
	case len(tasks) == 0:
		s.flashWarn(sess, msg, "No worker is known to use it; a task file that names "+old+" must be edited to name "+u.Name+".")
	default:
		s.flashWarn(sess, msg, "Edit these task files to name "+u.Name+", then restart or reload their workers: "+taskFiles(tasks)+".")
	}
}
