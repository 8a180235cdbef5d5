package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"mailtokens/internal/provider"
)

// `token add --issuer` fills the endpoints and the client authentication
// from the provider's discovery document; `token login --device` then
// signs in with the device URL it found.
func TestTokenAddIssuer(t *testing.T) {
	w := newWorld(t)
	iss := w.IDP.StdIssuer()
	out := w.mustRun(w.World.StdSecret+"\n", "token", "add", "std", "--type", "generic", "--client-id", w.World.StdClientID,
		"--email", w.World.StdUser, "--scope", "openid email mail", "--issuer", iss, "--auth-params", "ui_locales=de")
	if !strings.Contains(out, "discovered from "+iss+"/.well-known/openid-configuration: client authentication client_secret_basic") {
		t.Fatalf("add:\n%s", out)
	}
	st := w.OpenStore(t)
	tok, err := st.Get(context.Background(), "std")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Issuer != iss || tok.AuthURL != iss+"/authorize" || tok.TokenURL != iss+"/token" || tok.DeviceURL != iss+"/device" ||
		tok.RevokeURL != iss+"/revoke" || tok.UserinfoURL != iss+"/userinfo" || tok.ClientAuth != provider.ClientSecretBasic ||
		tok.Scope != "openid email mail offline_access" || tok.AuthParams != "ui_locales=de" {
		t.Fatalf("stored: %+v", tok.Config)
	}

	_, lines, done := w.interactive("token", "login", "std", "--device")
	m := waitLine(t, lines, regexp.MustCompile(`open the page (\S+) and enter the code (\S+) to authenticate`))
	if err := w.IDP.ApproveDevice(context.Background(), m[2], w.World.StdUser, w.World.Password); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, regexp.MustCompile(`token std authorized`))
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	w.mustRun("", "token", "refresh", "std")

	code, _, errs := w.run("x\n", "token", "add", "nowhere", "--type", "generic", "--client-id", "c", "--issuer", w.IDP.URL()+"/nowhere")
	if code != ExitFail || !strings.Contains(errs, "No discovery document was found") || !strings.Contains(errs, "/.well-known/oauth-authorization-server/nowhere") {
		t.Fatalf("wrong issuer: %d %s", code, errs)
	}
	code, _, errs = w.run("x\n", "token", "add", "bad", "--type", "generic", "--client-id", "c", "--auth-url", iss+"/authorize",
		"--token-url", iss+"/token", "--client-auth", "client_secret_jwt", "--auth-params", "nonce=1")
	if code != ExitFail || !strings.Contains(errs, "--client-auth") || !strings.Contains(errs, "--auth-params: must not set nonce") {
		t.Fatalf("bad method and parameters: %d %s", code, errs)
	}
	code, _, errs = w.run("x\n", "token", "add", "ms", "--type", "microsoft", "--tenant", "common", "--client-id", "c", "--issuer", iss)
	if code == ExitOK || !strings.Contains(errs, "--type generic") {
		t.Fatalf("--issuer for Microsoft: %d %s", code, errs)
	}
}
