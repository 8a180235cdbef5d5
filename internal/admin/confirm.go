package admin

import (
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// A guarded action breaks the task files that use a token: revoke, delete,
// app-only over a delegated token, rename. Its first request changes
// nothing: it gets the confirmation page, which names the task files and
// their last use, says what the action does, and repeats the request with
// a confirmation key. Only a request with a key made for the same action,
// token and session acts; a key is good once, for confirmLifetime.

// confirmLifetime bounds how long a confirmation page stays good.
const confirmLifetime = 10 * time.Minute

// guard is one guarded action as its confirmation page tells it.
type guard struct {
	Action  string // the route under the token's URL: "revoke", "edit", ...
	Title   string
	Effect  string // what the action does
	Heading string // above the task files: what happens to them
	NoTasks string // when no task file is known
	Button  string
}

// confirmation is a confirmation page's key: what it was made for, and the
// form of the request that asked (an edit's fields, the client secret among
// them, which is why they stay here and are not put into the page).
type confirmation struct {
	session string // the CSRF token identifies the session
	tokenID int64
	action  string
	form    url.Values
}

type confirmPage struct {
	guard
	Token    tokenRow
	Key      string
	Tasks    []tokenstore.TaskUse
	TasksErr string // the task files could not be read
}

// askFirst answers with the confirmation page of g for t, keeping form for
// the confirmed request.
func (s *Server) askFirst(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token, g guard, form url.Values) {
	page := confirmPage{guard: g, Token: s.row(r.Context(), t), Key: rand.Text()}
	tasks, err := s.store.Tasks(r.Context(), t.Name)
	if err != nil {
		s.log.Error("read tasks", "token", t.Name, "err", err)
		page.TasksErr = "The task files using this token could not be read: " + err.Error()
	}
	page.Tasks = tasks
	if form != nil {
		form = maps.Clone(form)
		form.Del("csrf")
	}
	s.confirms.put(page.Key, confirmation{session: sess.CSRF, tokenID: t.ID, action: g.Action, form: form}, s.now())
	s.render(w, r, http.StatusOK, "confirm", sess, g.Title, page)
}

// confirmation takes the confirmation key r carries for action on t and
// returns the form of the request that asked for it. A key that is
// unknown, used, expired, or made for another action, token or session
// gets a message and the way back, and ok is false.
func (s *Server) confirmation(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token, action string) (form url.Values, ok bool) {
	c, ok := s.confirms.take(r.PostForm.Get("confirm"), s.now())
	if ok && c.session == sess.CSRF && c.tokenID == t.ID && c.action == action {
		return c.form, true
	}
	s.flashBad(sess, "Nothing was done: the confirmation is no longer good.",
		fmt.Sprintf("It was used already, is older than %d minutes, or was made for something else. Try again, and read what the action will break before confirming.", int(confirmLifetime.Minutes())))
	back := tokenURL(t)
	if action == "edit" {
		back += "/edit"
	}
	seeOther(w, r, back)
	return nil, false
}

// confirmed reports whether r is the confirmed request of g for t. When it
// is not, it has answered r: with the confirmation page, or with why the
// confirmation it carries is no good.
func (s *Server) confirmed(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token, g guard) bool {
	if !r.PostForm.Has("confirm") {
		s.askFirst(w, r, sess, t, g, nil)
		return false
	}
	_, ok := s.confirmation(w, r, sess, t, g.Action)
	return ok
}

// taskFiles lists tasks in a sentence: "a.properties (evmail on host1),
// b.properties (batchmail on host2)".
func taskFiles(tasks []tokenstore.TaskUse) string {
	var parts []string
	for _, u := range tasks {
		parts = append(parts, fmt.Sprintf("%s (%s on %s)", u.Task, u.Actor, u.Host))
	}
	return strings.Join(parts, ", ")
}

const noTasks = "No worker is known to use this token."

func deleteGuard(t *tokenstore.Token) guard {
	effect := "The token, its settings and its secrets are removed from the store; the event log is kept."
	if t.HasRefreshToken {
		effect += " The grant at the provider is not revoked by deleting: use Revoke first if access should end there too."
	}
	return guard{Action: "delete", Title: "Delete " + t.Name + "?", Effect: effect,
		Heading: "These task files use this token and will stop working:", NoTasks: noTasks,
		Button: "Delete " + t.Name}
}

func revokeGuard(t *tokenstore.Token) guard {
	return guard{Action: "revoke", Title: "Revoke " + t.Name + "?",
		Effect: "The access and refresh tokens are revoked at the provider where it allows that (Google) and forgotten here. " +
			"The settings stay; the token works again only after someone clicks Get Email Token and signs in.",
		Heading: "These task files use this token and will stop working until it is authorized again:", NoTasks: noTasks,
		Button: "Revoke " + t.Name}
}

// delegated says whether t holds a token a person signed in for, which an
// app-only token would replace: its refresh token would be lost, and only
// a new sign-in brings it back.
func delegated(t *tokenstore.Token) bool {
	return t.HasRefreshToken && !t.Grant.AppOnly()
}

func appOnlyGuard(t *tokenstore.Token) guard {
	return guard{Action: "apponly", Title: "Replace the token of " + t.Name + " with an app-only token?",
		Effect: "A person signed in for this token (" + string(t.Grant) + "), and its refresh token keeps it alive. " +
			"An app-only token replaces both: the refresh token is lost, and only a new sign-in (Get Email Token) brings it back. " +
			"Workers then log in as the app, which works only when Exchange Online grants the app's service principal access to each mailbox.",
		Heading: "These task files use this token and will log in with the app-only token:", NoTasks: noTasks,
		Button: "Get app-only token"}
}

func renameGuard(t *tokenstore.Token, to string) guard {
	return guard{Action: "edit", Title: "Rename " + t.Name + " to " + to + "?",
		Effect: "Task files name their token (MAILBOX_EMAIL_TOKEN_NAME, MAIL_TOKEN_NAME), and nothing changes them: once the token is renamed, " +
			"each task file that names " + t.Name + " fails with “no token named " + t.Name + "” until it is edited to name " + to +
			" and its worker restarted (or reloaded). The other changes in the form are saved with the rename.",
		Heading: "These task files name " + t.Name + " and must be edited:",
		NoTasks: noTasks + " A task file that has not run yet may still name it.",
		Button:  "Rename to " + to + " and save"}
}

// sameName says whether the store takes a and b for the same token name:
// it compares names as SQLite's NOCASE does, ASCII letters without case,
// every other character exactly.
func sameName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	for i := range len(a) {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
