package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/sandbox/testcert"
)

func (w *world) writeFile(name, data string) string {
	w.t.Helper()
	p := filepath.Join(w.Dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// Microsoft with a certificate instead of a secret: added from a PEM file,
// an app-only token had at once, shown without the key and with the
// app-only scope, and accepted by the sandbox IMAP server for a mailbox
// Exchange lets the app open.
func TestTokenApponlyCertificate(t *testing.T) {
	w := newWorld(t, sandboxtest.IMAP(provider.Microsoft))
	w.Directory.GrantAppAccess(w.World.MSUser)
	auth, token := w.IDP.Endpoints(w.World, provider.Microsoft)
	out := w.mustRun("", "token", "add", "cert", "--type", "microsoft", "--tenant", w.World.TenantID,
		"--client-id", w.World.MSClientID, "--email", w.World.MSUser, "--auth-url", auth, "--token-url", token,
		"--client-key-file", w.writeFile("cert.pem", w.World.MSCertificate))
	if !strings.Contains(out, "certificate CN=Contoso mail workers, expires 2099-12-31, thumbprint ") {
		t.Fatalf("add: %s", out)
	}
	out = w.mustRun("", "token", "apponly", "cert")
	if !strings.Contains(out, "app-only token for the app") || !strings.Contains(out, "scopes: "+provider.MicrosoftAppOnlyScope) {
		t.Fatalf("apponly: %s", out)
	}
	show := w.mustRun("", "token", "show", "cert")
	for _, want := range []string{showLine("Requests scopes") + provider.MicrosoftAppOnlyScope + " (app-only)\n",
		showLine("Client auth") + "private_key_jwt", showLine("Client key") + "certificate CN=Contoso mail workers"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "offline_access") || strings.Contains(show, "[") || strings.Contains(show, "PRIVATE KEY") {
		t.Errorf("show:\n%s", show)
	}
	var j tokenJSON
	if err := json.Unmarshal([]byte(w.mustRun("", "token", "show", "cert", "--json")), &j); err != nil ||
		j.RequestedScopes != provider.MicrosoftAppOnlyScope || !j.AppOnly || j.KeyExpiresOn != "2099-12-31" || !j.HasClientKey {
		t.Fatalf("show --json: %+v %v", j, err)
	}
	addr := w.IMAP[provider.Microsoft].Addr[mailauth.Plain]
	out = w.mustRun("", "token", "test", "cert", "--imap", addr, "--security", "none")
	if !strings.Contains(out, "Logged in to "+addr+" as "+w.World.MSUser) {
		t.Fatalf("IMAP with the app-only token:\n%s", out)
	}

	// A certificate past its notAfter is refused before it is saved.
	expired, err := testcert.NewClient("old", time.Now().AddDate(-2, 0, 0), time.Now().AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := w.run("", "token", "key", "cert", "--client-key-file", w.writeFile("old.pem", expired.PEM))
	if code != ExitFail || !strings.Contains(errs, "--client-key-file: is a certificate that expired on") {
		t.Fatalf("expired certificate: %d %s", code, errs)
	}
	// A certificate the app does not have: the provider's refusal, explained.
	other, _ := testcert.SharedClient("not registered on the app")
	w.mustRun(other.PEM, "token", "key", "cert")
	code, _, errs = w.run("", "token", "apponly", "cert")
	if code != ExitFail || !strings.Contains(errs, "AADSTS700027") || !strings.Contains(errs, "Certificates & secrets") {
		t.Fatalf("unregistered certificate: %d %s", code, errs)
	}
}

// Google with a service account: the JSON key (whose client ID fills
// --client-id), a token for the mailbox, IMAP and SMTP as the mailbox;
// without domain-wide delegation, Google's refusal explained.
func TestTokenApponlyServiceAccount(t *testing.T) {
	w := newWorld(t, sandboxtest.IMAP(provider.Google), sandboxtest.SMTP(provider.Google))
	_, token := w.IDP.Endpoints(w.World, provider.Google)
	out := w.mustRun("", "token", "add", "sa", "--type", "google", "--email", w.World.GoogleUser, "--token-url", token,
		"--client-key-file", w.writeFile("sa.json", w.World.GoogleServiceAccountKey))
	if !strings.Contains(out, "service account "+w.World.GoogleServiceAccount) || !strings.Contains(out, "token apponly sa") {
		t.Fatalf("add: %s", out)
	}
	out = w.mustRun("", "token", "apponly", "sa")
	if !strings.Contains(out, "for "+w.World.GoogleUser+" (service account)") {
		t.Fatalf("apponly: %s", out)
	}
	show := w.mustRun("", "token", "show", "sa")
	if !strings.Contains(show, showLine("Requests scopes")+"https://mail.google.com/ (service account, for "+w.World.GoogleUser+")\n") ||
		!strings.Contains(show, showLine("Obtained by")+"service_account") || strings.Contains(show, "openid") {
		t.Errorf("show:\n%s", show)
	}
	imap := w.IMAP[provider.Google].Addr[mailauth.Plain]
	if out := w.mustRun("", "token", "test", "sa", "--imap", imap, "--security", "none"); !strings.Contains(out, "Logged in") {
		t.Fatalf("IMAP as the mailbox:\n%s", out)
	}
	smtp := w.SMTP[provider.Google].Addr[mailauth.Plain]
	if out := w.mustRun("", "token", "test", "sa", "--smtp", smtp, "--security", "none"); !strings.Contains(out, "Logged in") {
		t.Fatalf("SMTP as the mailbox:\n%s", out)
	}

	w.IDP.RevokeDelegation(w.World.GoogleServiceAccount, w.World.GoogleDomain)
	code, _, errs := w.run("", "token", "apponly", "sa")
	if code != ExitFail || !strings.Contains(errs, "unauthorized_client") || !strings.Contains(errs, "Domain-wide delegation") {
		t.Fatalf("no delegation: %d %s", code, errs)
	}
}

// An app-only token over one a person signed in for loses its refresh
// token: refused unless forced.
func TestTokenApponlyKeepsASignedInToken(t *testing.T) {
	w := newWorld(t)
	w.addMS("support")
	at, rt, err := w.IDP.MintToken(context.Background(), w.World, provider.Microsoft, w.World.MSUser)
	if err != nil {
		t.Fatal(err)
	}
	w.mustRun(fmt.Sprintf(`{"access_token":%q,"refresh_token":%q,"expires_in":3599}`, at, rt), "token", "paste", "support")
	show := w.mustRun("", "token", "show", "support")
	if !strings.Contains(show, showLine("Requests scopes")+provider.MicrosoftIMAPScope+" ") || !strings.Contains(show, "offline_access") || strings.Contains(show, "[") {
		t.Errorf("delegated scopes:\n%s", show)
	}
	code, _, errs := w.run("", "token", "apponly", "support")
	if code != ExitFail || !strings.Contains(errs, "--force") {
		t.Fatalf("over a delegated token: %d %s", code, errs)
	}
	if out := w.mustRun("", "token", "apponly", "support", "--force"); !strings.Contains(out, "app-only token for the app") {
		t.Fatalf("forced: %s", out)
	}
}

// showLine is how `token show` starts a line for key.
func showLine(key string) string { return fmt.Sprintf("%-22s ", key+":") }
