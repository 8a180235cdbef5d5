package idp

import (
	"context"
	"strings"
	"testing"

	"mailtokens/internal/provider"

	"golang.org/x/oauth2"
)

func TestConformance_IndexPage(t *testing.T) {
	s, _ := newWorld(t)
	s.AddApp(App{Provider: provider.Google, Name: `<script>alert("x")</script>`, ClientID: "evil"})
	status, body, _ := getPage(t, s.URL()+"/")
	for _, want := range []string{contosoDomain, msWebID, alice, password, s.URL() + "/google/token", "/devicelogin", "&lt;script&gt;"} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("index (HTTP %d) lacks %q", status, want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("index page does not escape app names")
	}
}

func TestConformance_PagesEscapeInput(t *testing.T) {
	s, _ := newWorld(t)
	cfg := msConfig(s)
	u := cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("login_hint", `"><b>x</b>`))
	status, body, _ := getPage(t, u)
	if status != 200 || strings.Contains(body, "<b>x</b>") {
		t.Errorf("login_hint not escaped (HTTP %d)", status)
	}
	// The form still works with the hostile hint prefilled.
	if _, err := s.SignIn(context.Background(), u, alice, password); err != nil {
		t.Error(err)
	}
}

func TestParseForms(t *testing.T) {
	doc := `<form method="POST" action="/a?b=1&amp;c=2"><input type="hidden" name="request" value="r&quot;1">
<input type=email name=email value=''><input type="submit" name="go" value="yes"><button name="action" value="accept">A</button>
<button type="button" name="ignored" value="no">B</button></form><p class="error" id="error">Wrong &amp; bad</p>`
	forms := parseForms(doc)
	if len(forms) != 1 {
		t.Fatalf("forms = %+v", forms)
	}
	f := forms[0]
	if f.action != "/a?b=1&c=2" || f.method != "post" || len(f.fields) != 2 || f.fields[0].Value != `r"1` || len(f.buttons) != 2 {
		t.Errorf("form = %+v", f)
	}
	if msg, ok := elementText(doc, "error"); !ok || msg != "Wrong & bad" {
		t.Errorf("error text = %q", msg)
	}
}
