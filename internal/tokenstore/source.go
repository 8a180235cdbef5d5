package tokenstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/backoff"
	"mailtokens/internal/database"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
)

// MinValidity is how long an access token must stay valid to be handed
// out: Microsoft's high-volume SMTP rejects tokens that expire within ten
// minutes, and a worker needs time to use it.
const MinValidity = 10 * time.Minute

// leaseFor is how long a process may hold the right to refresh a token. It
// outlasts the provider request timeout, so a lease only expires when its
// holder died — and only then may another process present the same
// refresh token.
const leaseFor = provider.RequestTimeout + 15*time.Second

// Backoff after temporary refresh failures: 10s, 20s, 40s … capped at 5
// minutes. Shared by every process through next_refresh_at.
const (
	backoffMin = 10 * time.Second
	backoffMax = 5 * time.Minute
)

var refreshBackoff = backoff.Backoff{Min: backoffMin, Max: backoffMax}

// rejectionRefreshEvery is the least time between two refreshes that mail
// servers' refusals force, whatever the number of workers (an admin acting
// on the token lifts it).
const rejectionRefreshEvery = 5 * time.Minute

// Access is an access token ready to present to a mail server.
type Access struct {
	Token  secret.Secret
	Expiry time.Time
	Email  string // the token's account (the login user for XOAUTH2, unless a shared mailbox is named)
	Type   provider.Type
}

// Source hands out access tokens for one named token on behalf of one
// actor. It is the one path every caller uses — IMAP, POP3, SMTP, the admin
// utility's Test button — in the spirit of x/oauth2's TokenSource, with a
// context and a forced refresh for when a server rejects a token.
type Source struct {
	store *Store
	name  string // "" = the default token
	actor Actor
	task  string // the task file whose logins these are; "" for others (the Test button)
}

// Source returns the access-token source for name ("" for the default
// token) used by actor.
func (s *Store) Source(name string, actor Actor) *Source {
	return &Source{store: s, name: name, actor: actor}
}

// Name is the token name the source was made for ("" for the default).
func (src *Source) Name() string { return src.name }

// Token returns an access token valid for at least MinValidity,
// refreshing it first when needed. Errors: *NotFoundError,
// *NeedsAuthorizationError (a person must act) or *RefreshFailingError
// (temporary; retry later).
func (src *Source) Token(ctx context.Context) (Access, error) {
	return src.store.access(ctx, src.name, src.actor, refreshIfStale, secret.Secret{})
}

// Rejected is for when a mail server refused the access token the store
// thought valid: it refreshes once — unless another caller already
// replaced that token — and returns the new one.
//
// One refresh per rejection episode, across processes: when the token
// refused is the one such a refresh got, or one was forced less than five
// minutes ago, the provider is not asked and the error is a *RefusedError
// (the mail side's problem). The episode ends when the token nears expiry
// (it is then refreshed as usual) or an admin acts on it. Other errors are
// Token's.
func (src *Source) Rejected(ctx context.Context, rejected secret.Secret) (Access, error) {
	return src.store.access(ctx, src.name, src.actor, refreshRejected, rejected)
}

// Refresh refreshes now, whatever the token's age (Refresh now, and
// `evadmin token refresh`).
func (src *Source) Refresh(ctx context.Context) (Access, error) {
	return src.store.access(ctx, src.name, src.actor, refreshAlways, secret.Secret{})
}

// ForTask is the source for a worker running task (the task file's
// absolute path, as given to [Store.StartTask]): its logins are recorded
// in the task's row.
func (src *Source) ForTask(task string) *Source {
	c := *src
	c.task = task
	return &c
}

// LoggedIn records how a login with the token went. A success is the
// token's "last used" (written at most once a minute per process, with one
// "used" event an hour per actor); for a task's source, every outcome also
// goes to the task's row (see [Store.StartTask]).
func (src *Source) LoggedIn(ctx context.Context, l Login) error {
	var err error
	if !l.Failed {
		err = src.store.markUsed(ctx, src.name, src.actor, fmt.Sprintf("%s at %s", l.User, l.Server))
	}
	if src.task != "" {
		err = errors.Join(err, src.store.loggedIn(ctx, src.name, src.actor, src.task, l))
	}
	return err
}

// Alive records that a task's worker is running, at most once a minute;
// a no-op for a source that is not a task's.
func (src *Source) Alive(ctx context.Context) error {
	if src.task == "" {
		return nil
	}
	return src.store.alive(ctx, src.name, src.actor, src.task)
}

type refreshMode int

const (
	refreshIfStale   refreshMode = iota
	refreshIfCurrent             // unless someone replaced the token meanwhile
	refreshRejected              // refreshIfCurrent, once per rejection episode
	refreshAlways
)

// access is the coordinated get-or-refresh. Within a process, one caller
// per token works at a time (the rest wait and then find the fresh token).
// Across processes, a lease row in the database elects one refresher; the
// others wait for the token's generation to change.
func (s *Store) access(ctx context.Context, name string, actor Actor, mode refreshMode, rejected secret.Secret) (Access, error) {
	unlock, err := s.lockName(ctx, name)
	if err != nil {
		return Access{}, err
	}
	defer unlock()
	for {
		t, err := s.Get(ctx, name)
		if err != nil {
			return Access{}, err
		}
		now := s.now()
		refresh, forced, err := decide(t, now, mode, rejected)
		if err != nil || !refresh {
			return accessOf(t), err
		}
		acquired, err := s.takeLease(ctx, t, now, forced)
		if err != nil {
			return Access{}, err
		}
		if !acquired {
			if err := s.waitForLease(ctx, t); err != nil {
				return Access{}, err
			}
			// Another process refreshed or failed; look again, and do not
			// force a second refresh of a token someone just replaced.
			if mode == refreshAlways {
				mode, rejected = refreshIfCurrent, t.AccessToken
			}
			continue
		}
		a, err := s.refresh(ctx, t, actor, mode, forced)
		if errors.Is(err, errChanged) {
			continue
		}
		return a, err
	}
}

// errChanged means the token changed under a refresh (re-authorized,
// edited, deleted): its result was dropped and the caller reads again.
var errChanged = errors.New("token changed during refresh")

// releaseLease gives up the refresh right without recording anything.
func (s *Store) releaseLease(ctx context.Context, t *Token) {
	s.db.ExecContext(context.WithoutCancel(ctx), `UPDATE tokens SET lease_owner = '', lease_until = 0
		WHERE id = ? AND lease_owner = ?`, t.ID, s.db.Owner())
}

func accessOf(t *Token) Access {
	if t == nil {
		return Access{}
	}
	return Access{Token: t.AccessToken, Expiry: t.Expiry, Email: t.Email, Type: t.Type}
}

// decide says whether t must be refreshed now, and whether a mail server's
// refusal forces that refresh (it counts against the rejection episode),
// or why no token can be had.
func decide(t *Token, now time.Time, mode refreshMode, rejected secret.Secret) (refresh, forced bool, err error) {
	switch t.Status {
	case StatusNew, StatusRevoked, StatusNeedsAuthorization:
		var cause *provider.Error
		if t.Status == StatusNeedsAuthorization {
			cause = t.lastError()
		}
		return false, false, &NeedsAuthorizationError{Name: t.Name, Status: t.Status, Cause: cause}
	}
	switch mode {
	case refreshAlways:
		return true, false, nil
	case refreshIfCurrent, refreshRejected:
		if !t.AccessToken.Equal(rejected) && t.Expiry.After(now) {
			return false, false, nil // already replaced by someone else
		}
		// A stale token is refreshed as usual; only a fresh one's refusal
		// forces a refresh.
		if mode == refreshRejected && t.AccessToken.Equal(rejected) && fresh(t, now) {
			if err := t.refusedAgain(now); err != nil {
				return false, false, err
			}
			forced = true
		}
	case refreshIfStale:
		if fresh(t, now) {
			return false, false, nil
		}
	}
	if t.NextRefreshAt.After(now) {
		// Backing off after a temporary failure: a still-valid token
		// beats no token, even with less than MinValidity left.
		if t.Expiry.After(now) && mode == refreshIfStale {
			return false, false, nil
		}
		rf := &RefreshFailingError{Name: t.Name, RetryAt: t.NextRefreshAt}
		if e := t.lastError(); e != nil {
			rf.Cause = e
		}
		return false, false, rf
	}
	return true, forced, nil
}

// refusedAgain says why a mail server's refusal of t's fresh access token
// may not force a refresh now (a *RefusedError), or returns nil.
func (t *Token) refusedAgain(now time.Time) error {
	switch retry := t.RejectionRefreshAt.Add(rejectionRefreshEvery); {
	case t.RejectionEpisode:
		return &RefusedError{Name: t.Name, ForcedAt: t.RejectionRefreshAt}
	case !t.RejectionRefreshAt.IsZero() && now.Before(retry):
		return &RefusedError{Name: t.Name, ForcedAt: t.RejectionRefreshAt, RetryAt: retry}
	}
	return nil
}

// fresh reports whether t's access token may be handed out without a
// refresh: MinValidity left, or — for providers issuing short-lived tokens —
// half its lifetime, so such tokens are not refreshed on every use.
func fresh(t *Token, now time.Time) bool {
	if t.AccessToken.IsZero() {
		return false
	}
	need := MinValidity
	if life := t.Expiry.Sub(t.AccessIssuedAt); !t.AccessIssuedAt.IsZero() && life/2 < need {
		need = life / 2
	}
	return t.Expiry.Sub(now) >= need
}

// lockName serialises callers for one token within this process.
func (s *Store) lockName(ctx context.Context, name string) (unlock func(), err error) {
	v, _ := s.nameLocks.LoadOrStore(strings.ToLower(name), make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// takeLease claims the right to refresh t, if nobody holds it and nobody
// changed the token since we read it. A refresh forced by a refusal is
// counted from here, whatever its outcome: the provider may see it.
func (s *Store) takeLease(ctx context.Context, t *Token, now time.Time, forced bool) (bool, error) {
	rejectionAt := database.Millis(t.RejectionRefreshAt)
	if forced {
		rejectionAt = database.Millis(now)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET lease_owner = ?, lease_until = ?, rejection_refresh_at = ?
		WHERE id = ? AND generation = ? AND lease_until < ? AND rejection_refresh_at = ?`,
		s.db.Owner(), database.Millis(now.Add(leaseFor)), rejectionAt, t.ID, t.Generation, database.Millis(now),
		database.Millis(t.RejectionRefreshAt))
	if err != nil {
		return false, fmt.Errorf("token %q: claim refresh: %w", t.Name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// waitForLease waits until the token changed or its lease was released or
// ran out. Polling is the only cross-process signal SQLite offers; the
// interval grows from 10ms to 200ms, so a refresh that takes a typical
// 100–300ms is noticed quickly without a busy loop.
func (s *Store) waitForLease(ctx context.Context, t *Token) error {
	delay := 10 * time.Millisecond
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		var gen, until int64
		err := s.db.QueryRowContext(ctx, `SELECT generation, lease_until FROM tokens WHERE id = ?`, t.ID).Scan(&gen, &until)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // deleted; the next read reports it
		}
		if err != nil {
			return fmt.Errorf("token %q: wait for refresh: %w", t.Name, err)
		}
		if gen != t.Generation || until < database.Millis(s.now()) {
			return nil
		}
		delay = min(delay*2, 200*time.Millisecond)
		timer.Reset(delay)
	}
}

// refresh runs the provider request while holding the lease and records
// the outcome. The lease is released in the same transaction as the
// result, and a rotated refresh token is committed before anyone can read
// the token again. A refresh forced by a refusal opens a rejection episode
// for the token it gets; any other success ends one.
func (s *Store) refresh(ctx context.Context, t *Token, actor Actor, mode refreshMode, forced bool) (Access, error) {
	cfg := s.ProviderConfig(t, "")
	var tok *provider.Token
	var err error
	switch {
	case t.Grant.AppOnly():
		// No refresh token: the app gets a new token as it got the first
		// (client credentials, or a service account's grant).
		tok, err = cfg.AppOnly(ctx)
	default:
		if t.RefreshToken.IsZero() {
			err = &provider.Error{Op: "refresh", Provider: t.Type, Kind: advice.Reauthorize, Code: "no_refresh_token",
				Description: "the access token expired and no refresh token is stored"}
			break
		}
		tok, err = cfg.Refresh(ctx, t.RefreshToken.Reveal())
	}
	now := s.now()
	if err != nil && ctx.Err() != nil {
		// Our caller gave up (shutdown, deadline): that says nothing about
		// the provider, so no backoff for everyone else.
		s.releaseLease(ctx, t)
		return Access{}, fmt.Errorf("token %q: refresh: %w", t.Name, ctx.Err())
	}
	if err != nil {
		return s.recordFailure(ctx, t, actor, mode, now, err)
	}
	var out Access
	err = s.db.InTx(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
		rt, rtIssued, rtExpires := t.RefreshToken, t.RefreshIssuedAt, t.RefreshExpiresAt
		rotated := !tok.RefreshToken.IsZero()
		if rotated {
			rt, rtIssued, rtExpires = tok.RefreshToken, now, refreshExpiry(now, tok)
		}
		scope := t.GrantedScope
		if tok.Scope != "" {
			scope = tok.Scope
		}
		nowMs := database.Millis(now)
		// The episode lasts while the row keeps the generation written here
		// (right-hand sides read the row as it was).
		episode := "rejection_generation"
		if forced {
			episode = "generation + 1"
		}
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET access_token = ?, refresh_token = ?, access_expires_at = ?,
			access_issued_at = ?, granted_scope = ?, refresh_issued_at = ?, refresh_used_at = ?, status = 'valid',
			last_error_code = '', last_error_text = '', last_error_at = 0, last_error_kind = '', last_error_status = 0,
			last_error_op = '', refresh_failures = 0, next_refresh_at = 0, refresh_expires_at = ?, rejection_generation = `+episode+`, generation = generation + 1,
			lease_owner = '', lease_until = 0, updated_at = ?
			WHERE id = ? AND generation = ?`,
			s.db.Seal(tok.AccessToken.Reveal(), columnAD(t.ID, "access_token")),
			s.db.Seal(rt.Reveal(), columnAD(t.ID, "refresh_token")),
			database.Millis(expiryOf(now, tok)), nowMs, scope, database.Millis(rtIssued), nowMs, database.Millis(rtExpires), nowMs, t.ID, t.Generation)
		// When the token was re-authorized, edited or deleted meanwhile,
		// that newer state wins over what we got.
		if err := changed(res, err); err != nil {
			return err
		}
		text := fmt.Sprintf("access token valid until %s", expiryOf(now, tok).UTC().Format(time.RFC3339))
		if rotated {
			text += "; refresh token rotated"
		}
		if forced {
			text += "; forced: a mail server refused the previous access token"
		}
		out = Access{Token: tok.AccessToken, Expiry: expiryOf(now, tok), Email: t.Email, Type: t.Type}
		return addEvent(ctx, tx, t.ID, t.Name, nowMs, actor, EventRefreshed, "", text)
	})
	if errors.Is(err, errChanged) {
		s.releaseLease(ctx, t)
		return Access{}, err
	}
	if err != nil {
		return Access{}, fmt.Errorf("token %q: save refreshed token: %w", t.Name, err)
	}
	return out, nil
}

// recordFailure stores a failed refresh: temporary failures back off and
// keep the token; the rest need a person.
//
// A temporary failure still hands out the old access token while it is
// valid — unless a person asked for the refresh (mode refreshAlways), who
// must hear that it failed.
func (s *Store) recordFailure(ctx context.Context, t *Token, actor Actor, mode refreshMode, now time.Time, cause error) (Access, error) {
	var pe *provider.Error
	if !errors.As(cause, &pe) {
		_, kind := advice.Of(cause)
		if kind == advice.Unknown {
			kind = advice.Misconfigured
		}
		pe = &provider.Error{Op: "refresh", Provider: t.Type, Kind: kind, Err: cause}
	}
	info := recorded(pe, cause, OpRefresh)
	code, text := info.Code, info.Text
	nowMs := database.Millis(now)
	var result error
	var access Access
	// Record even when the caller's context ended: the outcome is real
	// and the lease must be released.
	ctx = context.WithoutCancel(ctx)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if pe.Kind == advice.Temporary {
			failures := t.RefreshFailures + 1
			retry := now.Add(refreshBackoff.Delay(failures))
			res, err := tx.ExecContext(ctx, `UPDATE tokens SET status = 'refresh_failing', last_error_code = ?,
				last_error_text = ?, last_error_at = ?, last_error_kind = ?, last_error_status = ?, last_error_op = ?,
				refresh_failures = ?, next_refresh_at = ?,
				generation = generation + 1, lease_owner = '', lease_until = 0, updated_at = ?
				WHERE id = ? AND generation = ?`,
				code, text, nowMs, pe.Kind.Code(), pe.HTTPStatus, OpRefresh, failures, database.Millis(retry), nowMs, t.ID, t.Generation)
			if err := changed(res, err); err != nil {
				return err
			}
			if t.Expiry.After(now) && mode != refreshAlways {
				access = accessOf(t) // still valid for a while: use it
			} else {
				result = &RefreshFailingError{Name: t.Name, Cause: pe, RetryAt: retry}
			}
			return addEvent(ctx, tx, t.ID, t.Name, nowMs, actor, EventRefreshFailed, pe.ShortCode(), text)
		}
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET status = 'needs_authorization', last_error_code = ?,
			last_error_text = ?, last_error_at = ?, last_error_kind = ?, last_error_status = ?, last_error_op = ?,
			refresh_failures = refresh_failures + 1, next_refresh_at = 0,
			generation = generation + 1, lease_owner = '', lease_until = 0, updated_at = ?
			WHERE id = ? AND generation = ?`,
			code, text, nowMs, pe.Kind.Code(), pe.HTTPStatus, OpRefresh, nowMs, t.ID, t.Generation)
		if err := changed(res, err); err != nil {
			return err
		}
		pe.Tenant = t.Tenant
		result = &NeedsAuthorizationError{Name: t.Name, Status: StatusNeedsAuthorization, Cause: pe}
		if err := addEvent(ctx, tx, t.ID, t.Name, nowMs, actor, EventRefreshFailed, pe.ShortCode(), text); err != nil {
			return err
		}
		return addEvent(ctx, tx, t.ID, t.Name, nowMs, actor, EventNeedsAuthorization, pe.ShortCode(), advice.Explain(pe))
	})
	if errors.Is(err, errChanged) {
		s.releaseLease(ctx, t)
		return Access{}, err
	}
	if err != nil {
		return Access{}, fmt.Errorf("token %q: record refresh failure (%v): %w", t.Name, cause, err)
	}
	return access, result
}

// changed turns "the guarded UPDATE matched no row" into errChanged.
func changed(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return errChanged
	}
	return nil
}

// useMark remembers this process's last "used" writes for a token.
type useMark struct {
	row   time.Time // last last_used_at write
	event time.Time // last "used" event
}

const (
	useRowEvery   = time.Minute
	useEventEvery = time.Hour
)

func (s *Store) markUsed(ctx context.Context, name string, actor Actor, detail string) error {
	now := s.now()
	key := strings.ToLower(name) + "\x00" + string(actor)
	s.useMu.Lock()
	m, seen := s.useSeen[key]
	writeRow := !seen || now.Sub(m.row) >= useRowEvery
	writeEvent := !seen || now.Sub(m.event) >= useEventEvery
	if writeRow {
		m.row = now
	}
	if writeEvent {
		m.event = now
	}
	s.useSeen[key] = m
	s.useMu.Unlock()
	if !writeRow && !writeEvent {
		return nil
	}
	nowMs := database.Millis(now)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := s.ref(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ?, last_used_by = ? WHERE id = ?`,
			nowMs, string(actor), t.ID); err != nil {
			return err
		}
		if !writeEvent {
			return nil
		}
		// Another process of the same actor may have logged a use lately.
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(at), 0) FROM events
			WHERE token_id = ? AND actor = ? AND kind = 'used'`, t.ID, string(actor)).Scan(&last); err != nil {
			return err
		}
		if last != 0 && now.Sub(database.FromMillis(last)) < useEventEvery {
			return nil
		}
		return addEvent(ctx, tx, t.ID, t.Name, nowMs, actor, EventUsed, "", detail)
	})
	if err != nil {
		return fmt.Errorf("token %q: record use: %w", name, err)
	}
	return nil
}

// recorded is what is kept of pe, a failure of op: the provider's OAuth2
// error code and description, or — for an answer without a code and for
// no answer — what kind of failure it was and the cause's text; capped.
func recorded(pe *provider.Error, cause error, op string) ErrorInfo {
	info := ErrorInfo{Code: pe.Code, Text: pe.Description, Kind: pe.Kind, HTTPStatus: pe.HTTPStatus, Op: op}
	if pe.Code == "" {
		info.Text = pe.Error()
		if pe.Err != nil {
			info.Text = pe.Err.Error()
		}
		var ne net.Error
		switch {
		case pe.HTTPStatus != 0:
			info.Code = ErrorHTTP
		case errors.Is(cause, context.DeadlineExceeded) || errors.As(cause, &ne) && ne.Timeout():
			info.Code = ErrorTimeout
		default:
			info.Code = ErrorNetwork
		}
	}
	info.Text = capText(info.Text)
	return info
}
