package form

import (
	"net/url"
	"strings"
	"testing"

	"mailtokens/internal/provider"
)

func TestTokenSettings(t *testing.T) {
	v := url.Values{"name": {" Support "}, "type": {"microsoft"}, "tenant": {"contoso.com"}, "client_id": {"cid"},
		"client_secret": {" s3cret "}, "scope": {"a\n b"}, "secret_expires_on": {"2027-01-31"}}
	set, errs := ReadToken(v).Settings(true)
	if len(errs) != 0 || set.Name != "Support" || set.ClientSecret.Reveal() != "s3cret" || set.Scope != "a b" || set.SecretExpiresOn.Format("2006-01-02") != "2027-01-31" {
		t.Fatalf("got %+v %v", set, errs)
	}
	// A tenant typed before switching to Google is dropped.
	v.Set("type", "google")
	if set, _ := ReadToken(v).Settings(true); set.Tenant != "" {
		t.Fatalf("tenant kept for Google: %q", set.Tenant)
	}
	// On edit an empty secret is fine; on create it is not.
	v.Del("client_secret")
	if _, errs := ReadToken(v).Settings(false); len(errs) != 0 {
		t.Fatalf("edit without secret: %v", errs)
	}
	if _, errs := ReadToken(v).Settings(true); errs.For(provider.FieldClientSecret) == "" {
		t.Fatal("create without secret accepted")
	}
}

// FuzzTokenForm: whatever a browser posts, the form never panics, names
// every problem's field with a label, and settings it accepts are valid for
// the store.
func FuzzTokenForm(f *testing.F) {
	f.Add("Support", "microsoft", "a@b.c", "contoso.com", "cid", "secret", "", "scope", "", "")
	f.Add("x", "generic", "", "", "c", "", "2027-13-01", "", "https://a/auth", "http://127.0.0.1/t")
	f.Add("a/b", "microsoft", "x", "not a tenant", "a b", "a\nb", "soon", "<x>", "ftp://a", "http://example.com/t")
	f.Fuzz(func(t *testing.T, name, typ, email, tenant, cid, secret, exp, scope, auth, token string) {
		v := url.Values{"name": {name}, "type": {typ}, "email": {email}, "tenant": {tenant}, "client_id": {cid},
			"client_secret": {secret}, "secret_expires_on": {exp}, "scope": {scope}, "auth_url": {auth}, "token_url": {token}}
		set, errs := ReadToken(v).Settings(true)
		for _, e := range errs {
			if _, ok := labels[e.Field]; !ok {
				t.Fatalf("no label for field %q (%s)", e.Field, e.Message)
			}
		}
		if len(errs) == 0 {
			if err := set.Validate(); err != nil {
				t.Fatalf("form accepted settings the store refuses: %v", err)
			}
			if strings.ContainsAny(set.ClientSecret.Reveal(), "\r\n") {
				t.Fatal("multi-line secret accepted")
			}
		}
	})
}

func TestConnTestCheck(t *testing.T) {
	host, port, errs := ReadConnTest(url.Values{"protocol": {"imap"}, "server": {"outlook.office365.com:993"}, "security": {"ssl"}, "user": {"a@b.c"}}).Check()
	if len(errs) != 0 || host != "outlook.office365.com" || port != 993 {
		t.Fatalf("%s %d %v", host, port, errs)
	}
	_, _, errs = ReadConnTest(url.Values{"protocol": {"x"}, "server": {"h:99999"}, "security": {"tls"}}).Check()
	for _, f := range []string{"protocol", "server", "security", "user"} {
		if errs.For(f) == "" {
			t.Errorf("no error for %s", f)
		}
	}
}

func TestSentence(t *testing.T) {
	for _, c := range []struct{ field, msg, want string }{
		{provider.FieldClientID, "is required: the Application (client) ID of the app registration",
			"Client ID is required: the Application (client) ID of the app registration."},
		{provider.FieldTenant, `"x y" is neither a GUID`, `Tenant ID "x y" is neither a GUID.`},
		{fieldJSON, "not a JSON token response: unexpected end", "Token response: Not a JSON token response: unexpected end."},
		{fieldServer, "is required, as host:port (e.g. outlook.office365.com:993).", "Server (host:port) is required, as host:port (e.g. outlook.office365.com:993)."},
		{"unknown", "", "unknown is not right."},
	} {
		if got := Sentence(c.field, c.msg); got != c.want {
			t.Errorf("Sentence(%q, %q) = %q, want %q", c.field, c.msg, got, c.want)
		}
	}
}
