package idp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"mailtokens/internal/clock"
)

// Fuzz tests for every parser of outside input: scope parameters, whole
// token-endpoint requests, user codes, and the HTML reader of the test
// helpers.

func FuzzParseMSScopes(f *testing.F) {
	for _, s := range []string{
		exoIMAP + " " + exoSMTP + " offline_access", "openid", "User.Read Mail.Read", exoDefault,
		"https://outlook.office.com/.default https://outlook.office.com/SMTP.Send", "https://:x/y", "api://x/.default",
		"https://graph.microsoft.com/ " + exoIMAP, "\t\n", "https://outlook.office.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, e := parseMSScopes(raw)
		if e != nil {
			if e.aadsts == 0 || e.code == "" {
				t.Fatalf("error without code: %+v", e)
			}
			return
		}
		if m.resource == nil || m.resourceURI == "" || len(m.perms) == 0 {
			t.Fatalf("accepted %q without a resource: %+v", raw, m)
		}
		if g := m.granted(); strings.Contains(g, "offline_access") || strings.Contains(g, ".default") {
			t.Fatalf("granted scope %q for %q", g, raw)
		}
		parseMSDefaultScope(raw)
	})
}

func FuzzParseGoogleScopes(f *testing.F) {
	for _, s := range []string{gmailScope, "email profile openid", "email email", "x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		known, unknown := parseGoogleScopes(raw)
		if len(known)+len(unknown) > len(strings.Fields(raw)) {
			t.Fatalf("more scopes out than in: %q", raw)
		}
		for _, k := range known {
			if _, ok := googleScopes[k]; !ok {
				t.Fatalf("unknown scope %q reported as known", k)
			}
		}
	})
}

func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"GQVQ-JKEC", "gqvq jkec", "F7K2M9PQX", "ß", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		n := normalizeUserCode(code)
		if normalizeUserCode(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", code, n, normalizeUserCode(n))
		}
	})
}

// FuzzTokenEndpoints throws arbitrary form bodies and Basic credentials at
// both token endpoints and the device endpoints: every answer must be JSON
// with an OAuth error or a token, never a panic or a 5xx.
func FuzzTokenEndpoints(f *testing.F) {
	f.Add("/"+contosoID+"/oauth2/v2.0/token", "grant_type=refresh_token&refresh_token=0.Axx&client_id="+msWebID, "")
	f.Add("/common/oauth2/v2.0/token", "grant_type=client_credentials&scope=https%3A%2F%2Foutlook.office365.com%2F.default", msDaemonID+":x")
	f.Add("/google/token", "grant_type=authorization_code&code=4%2F0x&client_id="+gWebID, "")
	f.Add("/google/device/code", "client_id="+gTVID+"&scope=email", "")
	f.Add("/"+contosoDomain+"/oauth2/v2.0/devicecode", "client_id="+msPublicID+"&scope=%ZZ", "")
	s := New(Options{Clock: clock.NewFake(epoch)})
	populate(s)
	h := s.Handler()
	f.Fuzz(func(t *testing.T, path, body, basic string) {
		u, err := url.Parse("http://idp.test" + path)
		if err != nil || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
			return // not a request path a client could send
		}
		req := httptest.NewRequest(http.MethodPost, u.String(), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user, pass, ok := strings.Cut(basic, ":"); ok {
			req.SetBasicAuth(user, pass)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: HTTP %d", path, body, rec.Code)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s %q: bad JSON %q", path, body, rec.Body.String())
			}
			if rec.Code >= 400 && v["error"] == nil {
				t.Fatalf("%s: error answer without error field: %s", path, rec.Body.String())
			}
		}
	})
}

func FuzzParseHTML(f *testing.F) {
	for _, s := range []string{
		`<form method="post" action="/x"><input type=hidden name=a value="1&amp;2"><button name=action value=accept>OK</button></form>`,
		`<p id='error'>bad &lt;thing&gt;</p>`, `<!-- <form> -->`, `<input name="x`, `<`, `</`, `<a b=>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		for _, tag := range parseTags(doc) {
			if tag.end < 0 || tag.end > len(doc) || tag.name == "" {
				t.Fatalf("bad tag %+v in %q", tag, doc)
			}
			textAfter(doc, tag)
		}
		parseForms(doc)
		elementText(doc, "error")
	})
}
