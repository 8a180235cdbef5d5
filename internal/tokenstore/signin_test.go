package tokenstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
)

func grantAs(account string) *provider.Token {
	return &provider.Token{AccessToken: secret.New("at-" + account), RefreshToken: secret.New("rt-" + account), Account: account}
}

func TestSaveGrantRecordsWhoSignedIn(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	if _, err := s.Create(ctx, msSettings("support"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	// Another account signs in for support@'s token.
	tok, err := s.SaveGrant(ctx, "support", GrantAuthorizationCode, grantAs("Alex@contoso.example"), AdminUser("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.SignedInAs != "Alex@contoso.example" || !tok.AccountDiffers() || !tok.AccountMismatch() || tok.Status != StatusValid {
		t.Fatalf("after sign-in as another account: %q differs %v mismatch %v", tok.SignedInAs, tok.AccountDiffers(), tok.AccountMismatch())
	}
	if ev, _ := s.Events(ctx, "support", 1); ev[0].Kind != EventAuthorized || !strings.Contains(ev[0].Text, "signed in as Alex@contoso.example") {
		t.Fatalf("authorized event: %+v", ev[0])
	}

	// Confirming another account than the one that signed in (a stale
	// page) changes nothing.
	if err := s.ConfirmAccount(ctx, "support", AdminUser("alice"), "bob@contoso.example"); !errors.Is(err, ErrAccountChanged) {
		t.Fatalf("confirm a stale account: %v", err)
	}
	if err := s.ConfirmAccount(ctx, "support", AdminUser("alice"), "alex@contoso.example"); err != nil {
		t.Fatal(err)
	}
	tok, _ = s.Get(ctx, "support")
	if tok.AccountConfirmed != "Alex@contoso.example" || tok.AccountMismatch() || !tok.AccountDiffers() {
		t.Fatalf("after confirmation: %q mismatch %v", tok.AccountConfirmed, tok.AccountMismatch())
	}
	ev, _ := s.Events(ctx, "support", 1)
	if ev[0].Kind != EventAccountConfirmed || ev[0].Actor != AdminUser("alice") ||
		!strings.Contains(ev[0].Text, "Alex@contoso.example") || !strings.Contains(ev[0].Text, "support@contoso.example") {
		t.Fatalf("confirmation event: %+v", ev[0])
	}

	// The same account again stays confirmed; the mailbox's own account
	// is no mismatch; an unknown account (nothing to compare) neither.
	tok, _ = s.SaveGrant(ctx, "support", GrantAuthorizationCode, grantAs("alex@contoso.example"), ActorCLI)
	if tok.AccountMismatch() {
		t.Fatal("a confirmed account signing in again is a mismatch")
	}
	tok, _ = s.SaveGrant(ctx, "support", GrantAuthorizationCode, grantAs("SUPPORT@contoso.example"), ActorCLI)
	if tok.AccountDiffers() || tok.AccountMismatch() {
		t.Fatal("the mailbox's own account (another letter case) is a mismatch")
	}
	tok, _ = s.SaveGrant(ctx, "support", GrantPasted, grantAs(""), ActorCLI)
	if tok.SignedInAs != "" || tok.AccountMismatch() {
		t.Fatalf("pasted: signed in as %q", tok.SignedInAs)
	}
	if err := s.ConfirmAccount(ctx, "support", ActorCLI, ""); !errors.Is(err, ErrAccountChanged) {
		t.Fatalf("confirm with nobody signed in: %v", err)
	}
}

func TestSignInFailureIsRecorded(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	for _, name := range []string{"new", "valid"} {
		if _, err := s.Create(ctx, msSettings(name), ActorCLI); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SaveGrant(ctx, "valid", GrantAuthorizationCode, grantAs("support@contoso.example"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	wrongSecret := &provider.Error{Op: "exchange authorization code", Provider: provider.Microsoft, Kind: advice.Misconfigured,
		HTTPStatus: 401, Code: "invalid_client", AADSTS: []int{7000215},
		Description: "AADSTS7000215: Invalid client secret provided. " + strings.Repeat("é", 3000)}
	for _, name := range []string{"new", "valid"} {
		before, _ := s.Get(ctx, name)
		if err := s.RecordSignInFailure(ctx, name, AdminUser("alice"), wrongSecret); err != nil {
			t.Fatal(err)
		}
		tok, _ := s.Get(ctx, name)
		e := tok.LastError
		if tok.Status != before.Status || tok.HasAccessToken != before.HasAccessToken || tok.Generation != before.Generation {
			t.Fatalf("%s: a failed sign-in changed the token: %s -> %s", name, before.Status, tok.Status)
		}
		if e.Op != OpSignIn || e.Code != "invalid_client" || e.Kind != advice.Misconfigured || e.HTTPStatus != 401 ||
			!strings.HasPrefix(e.Text, "AADSTS7000215") || len(e.Text) > maxStoredText || !utf8.ValidString(e.Text) || e.At.IsZero() {
			t.Fatalf("%s: last error %+v (%d bytes)", name, e, len(e.Text))
		}
		if !tok.SignInFailed() || !strings.Contains(tok.Explain(), "secret") {
			t.Fatalf("%s: SignInFailed %v, explained as %q", name, tok.SignInFailed(), tok.Explain())
		}
		ev, _ := s.Events(ctx, name, 1)
		if ev[0].Kind != EventSignInFailed || ev[0].Code != "AADSTS7000215" || ev[0].Actor != AdminUser("alice") || len(ev[0].Text) > maxStoredText {
			t.Fatalf("%s: event %+v", name, ev[0])
		}
	}

	// A cancelled consent, as the callback gets it; a provider that cannot
	// be reached.
	cancelled := provider.Config{Type: provider.Microsoft}.Refused("access_denied", "AADSTS65004: User declined to consent to access the app.")
	if err := s.RecordSignInFailure(ctx, "new", ActorAdmin, cancelled); err != nil {
		t.Fatal(err)
	}
	if tok, _ := s.Get(ctx, "new"); tok.LastError.Code != "access_denied" || tok.LastError.Kind != advice.Reauthorize || tok.Status != StatusNew {
		t.Fatalf("cancelled: %+v %s", tok.LastError, tok.Status)
	}
	down := &provider.Error{Op: "exchange authorization code", Provider: provider.Microsoft, Kind: advice.Temporary, Err: errors.New("dial tcp: connection refused")}
	if err := s.RecordSignInFailure(ctx, "new", ActorAdmin, down); err != nil {
		t.Fatal(err)
	}
	if tok, _ := s.Get(ctx, "new"); tok.LastError.Code != ErrorNetwork || !strings.Contains(tok.LastError.Text, "connection refused") {
		t.Fatalf("unreachable: %+v", tok.LastError)
	}
	if err := s.RecordSignInFailure(ctx, "nope", ActorAdmin, down); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}

	// The next success clears it.
	tok, err := s.SaveGrant(ctx, "new", GrantAuthorizationCode, grantAs("support@contoso.example"), ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.LastError.IsZero() || tok.LastError.Op != "" || tok.LastError.Kind != advice.Unknown || tok.LastError.HTTPStatus != 0 || tok.SignInFailed() {
		t.Fatalf("after success: %+v", tok.LastError)
	}
}

// An admin's confirmation that another account may use the mailbox is
// about that mailbox: editing the token's Email Address to another one
// asks for it again; other edits keep it.
func TestEditingTheMailboxDropsTheConfirmation(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	if _, err := s.Create(ctx, msSettings("support"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	s.SaveGrant(ctx, "support", GrantAuthorizationCode, grantAs("alex@contoso.example"), ActorCLI)
	if err := s.ConfirmAccount(ctx, "support", ActorCLI, "alex@contoso.example"); err != nil {
		t.Fatal(err)
	}
	set := msSettings("support")
	set.Scope = provider.MicrosoftIMAPScope
	if tok, err := s.Update(ctx, "support", set, ActorCLI); err != nil || tok.AccountMismatch() {
		t.Fatalf("another setting edited: mismatch %v (%v)", tok.AccountMismatch(), err)
	}
	set.Email = "ceo@contoso.example"
	tok, err := s.Update(ctx, "support", set, ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccountConfirmed != "" || !tok.AccountMismatch() {
		t.Fatalf("the mailbox changed, yet alex@ is still confirmed for it (%q)", tok.AccountConfirmed)
	}
}
