package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// useToken records that a worker's task file uses the named token, as the
// worker does when it starts.
func (w *world) useToken(name string, actor tokenstore.Actor, task string) {
	w.t.Helper()
	st, err := tokenstore.Open(context.Background(), tokenstore.Options{Path: w.StorePath, KeyFile: w.KeyFile, MustExist: true})
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	if err := st.StartTask(context.Background(), name, tokenstore.TaskStart{Actor: actor, Task: task}); err != nil {
		w.t.Fatal(err)
	}
}

// TestDeleteAndRevokeRefuseATokenInUse: token delete and token revoke
// refuse a token that task files use, name those files and their last use
// and say what to do; --force (before or after the name) does it anyway.
func TestDeleteAndRevokeRefuseATokenInUse(t *testing.T) {
	w := newWorld(t)
	w.addMS("support")
	at, rt, err := w.IDP.MintToken(context.Background(), w.World, provider.Microsoft, w.World.MSUser)
	if err != nil {
		t.Fatal(err)
	}
	w.mustRun(fmt.Sprintf(`{"access_token":%q,"refresh_token":%q,"expires_in":3599}`, at, rt), "token", "paste", "support")
	const inbox, notify = "/etc/mailtokens/support-inbox.properties", "/etc/mailtokens/notify.properties"
	w.useToken("support", tokenstore.ActorEvmail, inbox)
	w.useToken("support", tokenstore.ActorBatchmail, notify)

	for _, cmd := range []string{"revoke", "delete"} {
		code, out, errs := w.run("", "token", cmd, "support")
		if code != ExitFail {
			t.Fatalf("token %s on a token in use: exit %d\n%s%s", cmd, code, out, errs)
		}
		for _, want := range []string{inbox, notify, "evmail on ", "batchmail on ", "last seen", "--force", "MAIL_TOKEN_NAME"} {
			if !strings.Contains(errs, want) {
				t.Errorf("token %s: the refusal lacks %q:\n%s", cmd, want, errs)
			}
		}
		show := w.mustRun("", "token", "show", "support", "--json")
		if !strings.Contains(show, `"status": "valid"`) {
			t.Fatalf("token %s without --force changed the token:\n%s", cmd, show)
		}
	}

	out := w.mustRun("", "token", "revoke", "support", "--force")
	if !strings.Contains(out, "token support revoked") || !strings.Contains(out, inbox) {
		t.Fatalf("revoke --force:\n%s", out)
	}
	if show := w.mustRun("", "token", "show", "support", "--json"); !strings.Contains(show, `"status": "revoked"`) {
		t.Fatalf("after revoke --force:\n%s", show)
	}
	out = w.mustRun("", "token", "delete", "--force", "support")
	if !strings.Contains(out, "token support deleted") || !strings.Contains(out, notify) {
		t.Fatalf("delete --force:\n%s", out)
	}
	if code, _, _ := w.run("", "token", "show", "support"); code != ExitFail {
		t.Fatal("the token is still there after delete --force")
	}

	// A token no task file uses needs no --force.
	w.addMS("spare")
	w.mustRun("", "token", "revoke", "spare")
	w.mustRun("", "token", "delete", "spare")
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{"support": "support", "support desk": "'support desk'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}
