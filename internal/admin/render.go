package admin

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"

	"path"
	"strings"
	"time"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/health"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one template set per page, each with the shared layout.
type pages struct {
	sets map[string]*template.Template
}

var funcs = template.FuncMap{
	"when": func(t time.Time, now time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return health.When(t, now)
	},
	// datetime is a time with its zone; the date is never broken at its
	// hyphens ("2026-12-" / "06"), the time may go to the next line.
	"datetime": func(t time.Time) template.HTML {
		if t.IsZero() {
			return "—"
		}
		t = t.Local()
		return template.HTML(`<span class="date">` + t.Format(time.DateOnly) + `</span> ` +
			template.HTMLEscapeString(t.Format("15:04 MST")))
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// zone names the server's time zone, in which every time is shown.
	"zone": func() string {
		name, offset := time.Now().Zone()
		return fmt.Sprintf("%s (UTC%+03d:%02d)", name, offset/3600, abs(offset%3600)/60)
	},
	"join": strings.Join,
	"list": func(s ...string) []string { return s },
	// label is what the forms call a field, by the identifier problems
	// with it carry.
	"label": form.Label,
	// problems are the sentences a page shows beside a field, for the
	// "fielderror" template.
	"problems": func(l fielderr.List, field string) fieldProblems {
		p := fieldProblems{Field: field}
		for _, e := range l {
			if e.Field == field {
				p.Sentences = append(p.Sentences, form.Sentence(e.Field, e.Message))
			}
		}
		return p
	},
	"sentence": form.Sentence,
	// refreshSeconds lets a page (the device-code wait) reload itself,
	// which works without JavaScript.
	"refreshSeconds": func(page any) int {
		if r, ok := page.(interface{ RefreshSeconds() int }); ok {
			return r.RefreshSeconds()
		}
		return 0
	},
}

// partials are templates every page may use, parsed with the layout.
var partials = []string{"notify_failures.html", "form_standard.html"}

func loadPages() (*pages, error) {
	files := []string{"templates/layout.html"}
	for _, p := range partials {
		files = append(files, "templates/"+p)
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, files...)
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || slices.Contains(partials, base) {
			continue
		}
		set, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", base, err)
		}
		p.sets[strings.TrimSuffix(base, ".html")] = set
	}
	return p, nil
}

// fieldProblems are what is wrong with one field, as sentences.
type fieldProblems struct {
	Field     string
	Sentences []string
}

// view is what every page template gets.
type view struct {
	Title       string
	Admin       string // logged-in admin, "" on public pages
	CSRF        string
	Flashes     []flash
	RedirectURI string
	Now         time.Time
	Page        any // the page's own data
}

// render writes a page. formTargets are origins the page's forms may be
// redirected to (the providers behind Get Email Token buttons).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, sess *accounts.Session, title string, page any, formTargets ...string) {
	set, ok := s.pages.sets[name]
	if !ok {
		panic("admin: no page " + name)
	}
	v := view{Title: title, RedirectURI: s.redirect, Now: s.now(), Page: page}
	if sess != nil {
		v.Admin, v.CSRF = sess.Admin.Name, sess.CSRF
		v.Flashes = s.flashes.take(sess)
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "The page could not be shown. See the server log.", http.StatusInternalServerError)
		return
	}
	if len(formTargets) > 0 {
		w.Header().Set("Content-Security-Policy", csp(formTargets))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows a page with one message; with a session, inside the
// normal layout.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	sess, _ := s.session(r)
	if status == http.StatusUnauthorized {
		sess = nil
	}
	s.render(w, r, status, "error", sess, http.StatusText(status), msg)
}

// seeOther redirects after a POST, the way every form here ends.
func seeOther(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func abs(n int) int { return max(n, -n) }
