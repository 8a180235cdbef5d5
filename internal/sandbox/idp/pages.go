package idp

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mailtokens/internal/provider"
)

// HTML pages: embedded html/template files, one layout plus one file per
// page, no JavaScript. Each page is parsed together with the layout on its
// own, so that every page can define its "content" block.

//go:embed templates/*.html
var templateFS embed.FS

type pageSet struct{ pages map[string]*template.Template }

// loadPages parses the embedded templates. A broken template is a bug in
// this package, found by any test, so it panics.
func loadPages() *pageSet {
	ps := &pageSet{pages: map[string]*template.Template{}}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		if n.Name() == "layout.html" {
			continue
		}
		ps.pages[n.Name()] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name()))
	}
	return ps
}

// render executes a page into a buffer first, so that a template error never
// leaves a half-written page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	t := s.pages.pages[name]
	var buf bytes.Buffer
	if t == nil {
		http.Error(w, "no such page "+name, http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("idp render", "page", name, "err", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageMeta is what the layout needs from every page.
type pageMeta struct {
	Title string
	Brand provider.Type // "" for the sandbox's own pages
}

type hiddenField struct{ Name, Value string }

// signInData fills signin.html, the sign-in and consent page of both
// providers' code flows and of the device flow.
type signInData struct {
	pageMeta
	Heading     string
	AppName     string
	Scopes      []scopeLine
	Action      string
	Hidden      []hiddenField
	Email       string
	Error       string
	AcceptLabel string
	Note        string
}

type detail struct{ Name, Value string }

// errorData fills error.html.
type errorData struct {
	pageMeta
	Heading string
	Lead    string
	Message string
	Details []detail
}

type deviceCodeData struct {
	pageMeta
	Code  string
	Error string
}

type deviceDoneData struct {
	pageMeta
	Heading string
	Message string
	Outcome string // "approved", "declined" or "blocked"; tests read it
}

// renderMSErrorPage shows an error the way login.microsoftonline.com does
// when it cannot redirect: the AADSTS line and the request's IDs.
func (s *Server) renderMSErrorPage(w http.ResponseWriter, r *http.Request, e *oauthError) {
	t := s.newMSTrace(r)
	msg := e.desc
	if e.aadsts != 0 {
		msg = fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.desc)
	}
	s.render(w, http.StatusBadRequest, "error.html", errorData{
		pageMeta: pageMeta{Title: "Sign in to your account", Brand: provider.Microsoft},
		Heading:  "Sign in",
		Lead:     "Sorry, but we're having trouble signing you in.",
		Message:  msg,
		Details: []detail{
			{"Request Id", t.TraceID},
			{"Correlation Id", t.CorrelationID},
			{"Timestamp", t.Timestamp},
		},
	})
}

// renderGoogleErrorPage shows an error the way accounts.google.com does:
// "Access blocked" and "Error 400: <code>".
func (s *Server) renderGoogleErrorPage(w http.ResponseWriter, e *oauthError) {
	heading := "Access blocked: This app's request is invalid"
	if e.code == "invalid_client" {
		heading = "Access blocked: Authorization Error"
	}
	s.render(w, e.status, "error.html", errorData{
		pageMeta: pageMeta{Title: "Error - Google Accounts", Brand: provider.Google},
		Heading:  heading,
		Lead:     fmt.Sprintf("Error %d: %s", e.status, e.code),
		Message:  e.desc,
	})
}

// handleErrorCode is GET /error?code=N, the error_uri of Microsoft errors.
func (s *Server) handleErrorCode(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	text, ok := aadstsExplanations[code]
	if err != nil || !ok {
		s.render(w, http.StatusNotFound, "error.html", errorData{
			pageMeta: pageMeta{Title: "Unknown error code"},
			Heading:  "Unknown error code",
			Message:  "The sandbox does not produce this code.",
		})
		return
	}
	s.render(w, http.StatusOK, "error.html", errorData{
		pageMeta: pageMeta{Title: fmt.Sprintf("AADSTS%d", code), Brand: provider.Microsoft},
		Heading:  fmt.Sprintf("AADSTS%d", code),
		Message:  text,
	})
}

// indexData fills index.html.
type indexData struct {
	pageMeta
	Base      string
	Tenants   []Tenant
	Apps      []indexApp
	Users     []User
	Endpoints []detail
}

type indexApp struct {
	App
	SecretValues []string
}

// handleIndex is GET /: what the sandbox holds and where its endpoints are.
// It shows demo passwords and secrets on purpose: they are sandbox values,
// and the demo needs someone to type them.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	data := indexData{pageMeta: pageMeta{Title: "mailtokens sandbox identity provider"}, Base: base}
	s.mu.Lock()
	for _, t := range s.tenants {
		data.Tenants = append(data.Tenants, *t)
	}
	for _, a := range s.apps {
		ia := indexApp{App: a.App}
		for _, sec := range a.Secrets {
			ia.SecretValues = append(ia.SecretValues, sec.Value)
		}
		data.Apps = append(data.Apps, ia)
	}
	for _, u := range s.users {
		data.Users = append(data.Users, u.User)
	}
	s.mu.Unlock()
	slices.SortFunc(data.Tenants, func(a, b Tenant) int { return strings.Compare(a.Domain, b.Domain) })
	slices.SortFunc(data.Apps, func(a, b indexApp) int { return strings.Compare(a.Name+a.ClientID, b.Name+b.ClientID) })
	slices.SortFunc(data.Users, func(a, b User) int { return strings.Compare(string(a.Provider)+a.Email, string(b.Provider)+b.Email) })
	data.Endpoints = []detail{
		{"Microsoft authorize", base + "/{tenant}/oauth2/v2.0/authorize"},
		{"Microsoft token", base + "/{tenant}/oauth2/v2.0/token"},
		{"Microsoft device code", base + "/{tenant}/oauth2/v2.0/devicecode"},
		{"Google authorize", base + "/google/o/oauth2/v2/auth"},
		{"Google token", base + "/google/token"},
		{"Google revoke", base + "/google/revoke"},
		{"Google device code", base + "/google/device/code"},
		{"Device sign-in page (both)", base + "/devicelogin"},
		{"Token introspection (RFC 7662)", base + "/introspect"},
	}
	s.render(w, http.StatusOK, "index.html", data)
}
