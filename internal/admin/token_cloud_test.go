package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mailtokens/internal/provider"
)

// The Microsoft section of the token form has a Cloud select; what is
// chosen is stored, shown again on edit, and decides the scopes asked for,
// while URLs typed in the form (the sandbox's here) still decide where the
// browser goes.
func TestTokenFormCloud(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()

	page := b.get("/tokens/new?type=microsoft").body
	sel := regexpFind(`(?s)(<select id="cloud" name="cloud".*?</select>)`, page)
	for _, cl := range provider.Clouds {
		if !strings.Contains(sel, `value="`+cl.Name+`"`) || !strings.Contains(sel, cl.Label) {
			t.Errorf("the cloud select lacks %s (%s): %s", cl.Name, cl.Label, sel)
		}
	}
	section := regexpFind(`(?s)(<div class="for-microsoft">\s*<label for="tenant">.*?\n    </div>)`, page)
	if !strings.Contains(section, `<select id="cloud"`) {
		t.Error("the cloud select is not in the Microsoft section, beside the tenant")
	}

	// GCC High.
	form := h.msForm("gcc")
	form.Set("cloud", "usgov")
	id := b.addToken(form)
	tok, _ := h.Store.Get(t.Context(), "gcc")
	if tok.Cloud != provider.CloudUSGov {
		t.Fatalf("stored cloud %q, want usgov", tok.Cloud)
	}
	edit := b.get(id + "/edit").body
	if !regexpMatch(`<option value="usgov" selected>`, edit) {
		t.Errorf("the edit form does not show usgov chosen: %s", regexpFind(`(?s)(<select id="cloud".*?</select>)`, edit))
	}
	r := b.post(id+"/authorize", nil)
	loc, _ := url.Parse(r.location)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, h.IDP.URL()) {
		t.Fatalf("Get Email Token went to %q, not to the URL typed in the form", r.location)
	}
	if scope := loc.Query().Get("scope"); !strings.Contains(scope, "https://outlook.office365.us/IMAP.AccessAsUser.All") ||
		strings.Contains(scope, "outlook.office.com") {
		t.Errorf("GCC High scope %q", scope)
	}

	// Global: the select's "global" is stored as "", as tokens made before
	// clouds were, and the sandbox signs it in.
	form = h.msForm("worldwide")
	form.Set("cloud", "global")
	id = b.addToken(form)
	if tok, _ := h.Store.Get(t.Context(), "worldwide"); tok.Cloud != "" {
		t.Errorf("global stored as %q", tok.Cloud)
	}
	if r := b.getEmailToken(id, h.World.MSUser); r.status != http.StatusSeeOther {
		t.Errorf("global sign-in at the sandbox: %d %s", r.status, flashOrErrors(r.body))
	}

	// A cloud left over from switching to Google is dropped; an unknown
	// one is refused in a sentence.
	g := h.googleForm("gmail")
	g.Set("cloud", "usgov")
	b.addToken(g)
	if tok, _ := h.Store.Get(t.Context(), "gmail"); tok.Cloud != "" {
		t.Errorf("a Google token stored cloud %q", tok.Cloud)
	}
	form = h.msForm("moon")
	form.Set("cloud", "mooncake")
	r = b.post("/tokens", form)
	want := `Cloud "mooncake" is not a Microsoft cloud: choose global, usgov (GCC High), usdod (DoD) or china (21Vianet).`
	if got := fieldSentences(t, r.body)["cloud"]; r.status != http.StatusBadRequest || got != want {
		t.Errorf("unknown cloud: %d %q, want %q", r.status, got, want)
	}
}
