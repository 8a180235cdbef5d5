package cli

import (
	"strings"
	"testing"
)

// `token add --cloud` stores a national cloud; `token show` then names it
// and the scopes and sign-in URL that follow from it. An unknown cloud, or
// one on a Google token, is refused naming --cloud.
func TestTokenAddCloud(t *testing.T) {
	w := newWorld(t)
	w.mustRun("secret\n", "token", "add", "gcc", "--type", "microsoft", "--tenant", "contoso.com",
		"--client-id", "cid", "--cloud", "usgov")
	out := w.mustRun("", "token", "show", "gcc")
	for _, want := range []string{
		"Cloud:", "US Government GCC High",
		"https://outlook.office365.us/IMAP.AccessAsUser.All",
		"https://login.microsoftonline.us/contoso.com/oauth2/v2.0/token",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("token show lacks %q:\n%s", want, out)
		}
	}

	code, _, errs := w.run("secret\n", "token", "add", "moon", "--type", "microsoft", "--tenant", "contoso.com",
		"--client-id", "cid", "--cloud", "mooncake")
	if code != ExitFail || !strings.Contains(errs, `--cloud: "mooncake" is not a Microsoft cloud: choose global, usgov (GCC High), usdod (DoD) or china (21Vianet)`) {
		t.Errorf("unknown cloud: %d %s", code, errs)
	}
	code, _, errs = w.run("secret\n", "token", "add", "g", "--type", "google", "--client-id", "cid", "--cloud", "usgov")
	if code != ExitFail || !strings.Contains(errs, "--cloud: is only for Microsoft tokens") {
		t.Errorf("cloud on a Google token: %d %s", code, errs)
	}

	// global is the worldwide cloud, stored as no cloud at all.
	w.mustRun("secret\n", "token", "add", "world", "--type", "microsoft", "--tenant", "contoso.com",
		"--client-id", "cid", "--cloud", "global")
	if out := w.mustRun("", "token", "show", "world"); strings.Contains(out, "Cloud:") ||
		!strings.Contains(out, "https://login.microsoftonline.com/contoso.com/") {
		t.Errorf("global token:\n%s", out)
	}
}
