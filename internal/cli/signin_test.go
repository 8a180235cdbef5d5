package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// Who signed in reaches `token show` and `token list`, in words and JSON.
func TestWhoSignedInIsShown(t *testing.T) {
	w := newWorld(t)
	w.addMS("support")
	_, lines, done := w.interactive("token", "login", "support", "--device")
	m := waitLine(t, lines, regexp.MustCompile(`open the page (\S+) and enter the code (\S+) to authenticate`))
	if err := w.IDP.ApproveDevice(context.Background(), m[2], w.World.MSOtherUser, w.World.Password); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, regexp.MustCompile(`token support authorized`))
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	var shown tokenJSON
	if err := json.Unmarshal([]byte(w.mustRun("", "token", "show", "support", "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.SignedInAs != w.World.MSOtherUser || !shown.AccountMismatch || shown.AccountConfirmed != "" {
		t.Fatalf("show --json: signed in as %q, mismatch %v, confirmed %q", shown.SignedInAs, shown.AccountMismatch, shown.AccountConfirmed)
	}
	var list []tokenJSON
	if err := json.Unmarshal([]byte(w.mustRun("", "token", "list", "--json")), &list); err != nil || len(list) != 1 ||
		list[0].SignedInAs != w.World.MSOtherUser || !list[0].AccountMismatch {
		t.Fatalf("list --json: %+v %v", list, err)
	}
	if out := w.mustRun("", "token", "show", "support"); !strings.Contains(out, w.World.MSOtherUser+" (not "+w.World.MSUser) {
		t.Fatalf("show:\n%s", out)
	}

	// Confirmed in the web utility (here: the store): no longer a mismatch.
	st := w.OpenStore(t)
	if err := st.ConfirmAccount(context.Background(), "support", "test", w.World.MSOtherUser); err != nil {
		t.Fatal(err)
	}
	shown = tokenJSON{}
	if err := json.Unmarshal([]byte(w.mustRun("", "token", "show", "support", "--json")), &shown); err != nil ||
		shown.AccountMismatch || shown.AccountConfirmed != w.World.MSOtherUser {
		t.Fatalf("after confirming: %+v %v", shown, err)
	}
}
