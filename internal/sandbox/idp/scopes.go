package idp

import (
	"net/url"
	"slices"
	"strings"
)

// msResource is a Microsoft API that tokens can be issued for. A Microsoft
// access token has exactly one audience, so one request may name scopes of
// one resource only (AADSTS28000 otherwise).
type msResource struct {
	key   string
	appID string
	// hosts are the identifier URIs' hosts. Exchange Online answers to both
	// outlook.office.com and outlook.office365.com.
	hosts []string
	// delegated and application are the permissions the sandbox knows, in
	// Microsoft's spelling; matching is case-insensitive like Microsoft's.
	delegated   []string
	application []string
	// shortNames: Graph's granted scopes are reported without the URI prefix.
	shortNames bool
}

var exchangeResource = &msResource{
	key:   "exchange",
	appID: exchangeAppID,
	hosts: []string{"outlook.office.com", "outlook.office365.com"},
	delegated: []string{
		"IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send",
		"EWS.AccessAsUser.All", "Mail.Read", "Mail.Send", "User.Read",
	},
	application: []string{"IMAP.AccessAsApp", "POP.AccessAsApp", "SMTP.SendAsApp", "full_access_as_app"},
}

var graphResource = &msResource{
	key:   "graph",
	appID: graphAppID,
	hosts: []string{"graph.microsoft.com"},
	delegated: []string{
		"User.Read", "Mail.Read", "Mail.ReadWrite", "Mail.Send",
		"Mail.Read.Shared", "Mail.ReadWrite.Shared", "Mail.Send.Shared",
		"IMAP.AccessAsUser.All", "POP.AccessAsUser.All", "SMTP.Send",
	},
	application: []string{"Mail.Read", "Mail.ReadWrite", "Mail.Send"},
	shortNames:  true,
}

var msResources = []*msResource{exchangeResource, graphResource}

// msOIDCScopes are not tied to a resource. offline_access asks for a refresh
// token; the others ask for an ID token and are not echoed in "scope".
var msOIDCScopes = []string{"openid", "profile", "email", "offline_access"}

const dotDefault = ".default"

// msScopes is a parsed Microsoft scope parameter.
type msScopes struct {
	resource    *msResource
	resourceURI string   // the audience, as the client spelled it: "https://outlook.office.com"
	perms       []string // canonical permission names; ".default" already expanded
	oidc        []string
	offline     bool
}

// granted is the token response's "scope": the resource scopes without
// offline_access and the OpenID scopes.
func (m msScopes) granted() string {
	out := make([]string, 0, len(m.perms))
	for _, p := range m.perms {
		if m.resource.shortNames {
			out = append(out, p)
		} else {
			out = append(out, m.resourceURI+"/"+p)
		}
	}
	return strings.Join(out, " ")
}

// scp is the token's "scp" claim: bare permission names.
func (m msScopes) scp() string { return strings.Join(m.perms, " ") }

// qualified names the permissions per resource, for consent bookkeeping.
func (m msScopes) qualified() []string {
	out := make([]string, 0, len(m.perms))
	for _, p := range m.perms {
		out = append(out, m.resource.key+"/"+strings.ToLower(p))
	}
	return out
}

// lookupMSResource finds the resource behind an identifier URI such as
// "https://outlook.office.com".
func lookupMSResource(u *url.URL) *msResource {
	if u.Scheme != "https" {
		return nil
	}
	host := strings.ToLower(u.Host)
	for _, r := range msResources {
		if slices.Contains(r.hosts, host) {
			return r
		}
	}
	return nil
}

func canonicalPermission(list []string, p string) (string, bool) {
	for _, known := range list {
		if strings.EqualFold(known, p) {
			return known, true
		}
	}
	return "", false
}

// parseMSScopes parses a delegated scope parameter (authorize, devicecode,
// refresh). Scopes without a URI belong to Microsoft Graph, as on the real
// service — which is why asking for "IMAP.AccessAsUser.All" alone yields a
// Graph token that Exchange's IMAP rejects. A request with only OpenID
// scopes gets a Graph token for User.Read.
func parseMSScopes(raw string) (msScopes, *oauthError) {
	var m msScopes
	fields := strings.Fields(raw)
	if len(fields) == 0 {
		return m, msMissingParam("scope")
	}
	var resourceURIs []string
	hasDefault := false
	for _, f := range fields {
		if oidc, ok := canonicalPermission(msOIDCScopes, f); ok {
			if oidc == "offline_access" {
				m.offline = true
			} else if !slices.Contains(m.oidc, oidc) {
				m.oidc = append(m.oidc, oidc)
			}
			continue
		}
		res, resURI, perm := graphResource, "https://graph.microsoft.com", f
		if strings.Contains(f, "://") {
			u, err := url.Parse(f)
			if err != nil || u.Host == "" {
				return m, msInvalidScope(f)
			}
			resURI = u.Scheme + "://" + u.Host
			perm = strings.TrimPrefix(u.Path, "/")
			if res = lookupMSResource(u); res == nil {
				return m, msUnknownResource(resURI)
			}
		}
		if m.resource != nil && m.resource != res {
			return m, msMultipleResources(raw)
		}
		if m.resource == nil {
			m.resource, m.resourceURI = res, resURI
		}
		if !slices.Contains(resourceURIs, resURI) {
			resourceURIs = append(resourceURIs, resURI)
		}
		if perm == dotDefault {
			hasDefault = true
			continue
		}
		canon, ok := canonicalPermission(res.delegated, perm)
		if !ok {
			return m, msInvalidScope(f)
		}
		if !slices.Contains(m.perms, canon) {
			m.perms = append(m.perms, canon)
		}
	}
	if hasDefault {
		if len(m.perms) > 0 {
			return m, msInvalidScope(raw)
		}
		// ".default" means "whatever the app is configured for"; the sandbox
		// has no per-app configuration, so it grants the resource's known
		// delegated permissions.
		m.perms = append([]string(nil), m.resource.delegated...)
	}
	if m.resource == nil {
		m.resource, m.resourceURI = graphResource, "https://graph.microsoft.com"
		m.perms = []string{"User.Read"}
	}
	return m, nil
}

// parseMSDefaultScope parses the client credentials scope: exactly
// "<resource>/.default". It returns the resource and its URI as sent.
func parseMSDefaultScope(raw string) (*msResource, string, *oauthError) {
	fields := strings.Fields(raw)
	if len(fields) == 0 {
		return nil, "", msMissingParam("scope")
	}
	var res *msResource
	var resURI string
	for _, f := range fields {
		u, err := url.Parse(f)
		if err != nil || u.Host == "" || strings.TrimPrefix(u.Path, "/") != dotDefault {
			return nil, "", msErrorf(400, "invalid_scope", 1002012,
				"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f)
		}
		r := lookupMSResource(u)
		if r == nil {
			return nil, "", msUnknownResource(u.Scheme + "://" + u.Host)
		}
		if res != nil && r != res {
			return nil, "", msMultipleResources(raw)
		}
		res, resURI = r, u.Scheme+"://"+u.Host
	}
	return res, resURI, nil
}

// msScopeDescription is what the consent page says a scope lets the app do.
func msScopeDescription(perm string) string {
	switch strings.ToLower(perm) {
	case "imap.accessasuser.all":
		return "Read and write access to your mailboxes via IMAP."
	case "pop.accessasuser.all":
		return "Read and write access to your mailboxes via POP."
	case "smtp.send":
		return "Send emails from your mailboxes using SMTP AUTH."
	case "ews.accessasuser.all":
		return "Access your mailboxes via Exchange Web Services."
	case "mail.read":
		return "Read your mail."
	case "mail.readwrite":
		return "Read and write access to your mail."
	case "mail.send":
		return "Send mail as you."
	case "user.read":
		return "Sign you in and read your profile."
	case "offline_access":
		return "Maintain access to data you have given it access to."
	case "openid":
		return "Sign you in."
	case "profile":
		return "View your basic profile."
	case "email":
		return "View your email address."
	}
	return perm
}

// scopeLine is one permission listed on a consent page.
type scopeLine struct{ Name, Description string }

func (m msScopes) consentLines() []scopeLine {
	var out []scopeLine
	for _, p := range m.perms {
		out = append(out, scopeLine{p, msScopeDescription(p)})
	}
	for _, p := range m.oidc {
		out = append(out, scopeLine{p, msScopeDescription(p)})
	}
	if m.offline {
		out = append(out, scopeLine{"offline_access", msScopeDescription("offline_access")})
	}
	return out
}

// googleScope describes a Google scope the sandbox knows.
type googleScope struct {
	description string
	// device: allowed on the device flow. Google allows only a short list
	// there, and the Gmail scope is not on it.
	device bool
}

var googleScopes = map[string]googleScope{
	"https://mail.google.com/":                         {"Read, compose, send, and permanently delete all your email from Gmail.", false},
	"https://www.googleapis.com/auth/gmail.readonly":   {"View your email messages and settings.", false},
	"https://www.googleapis.com/auth/gmail.send":       {"Send email on your behalf.", false},
	"https://www.googleapis.com/auth/gmail.modify":     {"Read, compose, and send emails from your Gmail account.", false},
	"https://www.googleapis.com/auth/userinfo.email":   {"See your primary Google Account email address.", true},
	"https://www.googleapis.com/auth/userinfo.profile": {"See your personal info, including any personal info you've made publicly available.", true},
	"openid": {"Associate you with your personal info on Google.", true},
	"https://www.googleapis.com/auth/drive.file": {"See, edit, create, and delete only the specific Google Drive files you use with this app.", true},
}

// googleScopeAliases are the short names Google accepts and expands.
var googleScopeAliases = map[string]string{
	"email":   "https://www.googleapis.com/auth/userinfo.email",
	"profile": "https://www.googleapis.com/auth/userinfo.profile",
}

// parseGoogleScopes splits and canonicalizes a Google scope parameter. It
// returns the known scopes in request order and the unknown ones apart.
func parseGoogleScopes(raw string) (known, unknown []string) {
	for _, f := range strings.Fields(raw) {
		if full, ok := googleScopeAliases[f]; ok {
			f = full
		}
		if _, ok := googleScopes[f]; !ok {
			if !slices.Contains(unknown, f) {
				unknown = append(unknown, f)
			}
			continue
		}
		if !slices.Contains(known, f) {
			known = append(known, f)
		}
	}
	return known, unknown
}

func googleConsentLines(scopes []string) []scopeLine {
	var out []scopeLine
	for _, s := range scopes {
		out = append(out, scopeLine{s, googleScopes[s].description})
	}
	return out
}
