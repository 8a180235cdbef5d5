package tokenstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mailtokens/internal/advice"
	"mailtokens/internal/database"
	"mailtokens/internal/provider"
)

// Sign-in results (issue 11). A sign-in that fails — the provider refused
// the code exchange (a wrong client secret), the admin cancelled at the
// consent screen, the device code expired — is an event and the token's
// last error until the next success (SaveGrant clears it). It changes
// nothing else: a valid token stays valid and keeps working, a new one
// stays new.
//
// Who signed in is kept in SignedInAs by SaveGrant. When it is not the
// token's Email Address, the admin either signs in again as the mailbox or
// confirms that this account has access to that mailbox (a shared mailbox):
// ConfirmAccount.

// ErrAccountChanged means the account to confirm is not the one that last
// signed in (another sign-in happened since the page was shown).
var ErrAccountChanged = errors.New("the account that signed in has changed since")

// RecordSignInFailure records that a sign-in for the named token failed
// with cause (a *provider.Error when the provider answered or could not be
// reached): an event, and the token's last error with Op OpSignIn. The
// token's status and tokens stay as they are.
func (s *Store) RecordSignInFailure(ctx context.Context, name string, actor Actor, cause error) error {
	info, short := signInError(cause)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := s.ref(ctx, tx, name)
		if err != nil {
			return err
		}
		now := database.Millis(s.now())
		// No generation change: a refresh running meanwhile may still save
		// what it got (and, succeeding, clear this error).
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_error_code = ?, last_error_text = ?, last_error_at = ?,
			last_error_kind = ?, last_error_status = ?, last_error_op = ? WHERE id = ?`,
			info.Code, info.Text, now, info.Kind.Code(), info.HTTPStatus, OpSignIn, t.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, t.ID, t.Name, now, actor, EventSignInFailed, short, info.Text)
	})
	if err != nil {
		return fmt.Errorf("record failed sign-in of token %q: %w", name, err)
	}
	return nil
}

// signInError is what is kept of a failed sign-in, and the event's code.
func signInError(cause error) (ErrorInfo, string) {
	var pe *provider.Error
	if !errors.As(cause, &pe) {
		_, kind := advice.Of(cause)
		if kind == advice.Unknown {
			kind = advice.Misconfigured
		}
		pe = &provider.Error{Op: "sign-in", Kind: kind, Err: cause}
	}
	return recorded(pe, cause, OpSignIn), pe.ShortCode()
}

// ConfirmAccount records an admin's word that account, the one that last
// signed in for the named token, has access to the token's mailbox (a
// shared mailbox), so that the difference is no longer shown as a problem.
// It returns ErrAccountChanged when account is not the one that signed in.
func (s *Store) ConfirmAccount(ctx context.Context, name string, actor Actor, account string) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := s.ref(ctx, tx, name)
		if err != nil {
			return err
		}
		if t.SignedInAs == "" || !strings.EqualFold(t.SignedInAs, strings.TrimSpace(account)) {
			return ErrAccountChanged
		}
		now := database.Millis(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET account_confirmed = ?, updated_at = ? WHERE id = ?`,
			t.SignedInAs, now, t.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, t.ID, t.Name, now, actor, EventAccountConfirmed, "",
			fmt.Sprintf("%s has access to %s (shared mailbox)", t.SignedInAs, t.Email))
	})
	if err != nil {
		return fmt.Errorf("confirm the account of token %q: %w", name, err)
	}
	return nil
}

// AccountDiffers reports whether the account that last signed in is known
// and is not the token's Email Address (letter case aside).
func (t *Token) AccountDiffers() bool {
	return t.SignedInAs != "" && t.Email != "" && !strings.EqualFold(t.SignedInAs, t.Email)
}

// AccountMismatch reports whether the account that signed in differs from
// the Email Address and no admin confirmed it has access to the mailbox.
func (t *Token) AccountMismatch() bool {
	return t.AccountDiffers() && !strings.EqualFold(t.AccountConfirmed, t.SignedInAs)
}

// SignInFailed reports whether the last error is a failed sign-in.
func (t *Token) SignInFailed() bool { return t.LastError.Op == OpSignIn && !t.LastError.IsZero() }
