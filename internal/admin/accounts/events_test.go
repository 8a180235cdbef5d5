package accounts

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Every change to an account is in the account log, with who made it; the
// last admin is never deleted.
func TestAccountEvents(t *testing.T) {
	ctx := context.Background()
	a := openTest(t, nil)
	if err := a.CreateFirstAdmin(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	a.SetAdminPassword(ctx, "bob", "bob's long password")
	a.SetAdminPassword(ctx, "bob", "bob's other password")
	if _, err := a.Login(ctx, "bob", "bob's other password", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := a.ChangeOwnPassword(ctx, "bob", "bob's third password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Unlock(ctx, "bob", ActorCLI); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "bob", AdminActor("alice")); err != nil {
		t.Fatal(err)
	}
	if err := a.ChangeOwnPassword(ctx, "bob", "bob's fourth password"); !errors.Is(err, ErrNoAdmin) {
		t.Fatalf("a deleted admin changes its password: %v", err)
	}
	if err := a.Delete(ctx, "alice", AdminActor("alice")); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("delete the last admin: %v", err)
	}
	if err := a.Delete(ctx, "carol", ActorCLI); !errors.Is(err, ErrNoAdmin) {
		t.Fatalf("delete an unknown admin: %v", err)
	}
	ev, err := a.Events(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(ev) - 1; i >= 0; i-- {
		got = append(got, string(ev[i].Kind)+" "+ev[i].Admin+" by "+ev[i].Actor+": "+ev[i].Text)
	}
	want := []string{
		"created alice by setup link: the first admin",
		"created bob by cli: ",
		"password_changed bob by cli: sessions ended",
		"logged_in bob by admin:bob: from 192.0.2.1",
		"password_changed bob by admin:bob: sessions ended",
		"unlocked bob by cli: failed logins from 0 address(es) forgotten",
		"deleted bob by admin:alice: ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
