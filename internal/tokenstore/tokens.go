package tokenstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/database"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
)

const tokenColumns = `id, name, type, email, tenant, client_id, client_secret, scope, auth_url, token_url,
	secret_expires_on, is_default, grant_kind, access_token, refresh_token, access_expires_at, access_issued_at,
	granted_scope, authorized_at, refresh_issued_at, refresh_used_at, status, last_error_code, last_error_text,
	last_error_at, refresh_failures, next_refresh_at, generation, last_used_at, last_used_by, created_at, updated_at,
	refresh_expires_at, rejection_refresh_at, rejection_generation, last_error_kind, last_error_status, last_error_op,
	signed_in_as, account_confirmed, device_url, revoke_url, userinfo_url, issuer, client_auth, auth_params, cloud,
	client_key, client_key_expires_on`

type rowScanner interface{ Scan(dest ...any) error }

// scanToken reads one row. With reveal, the secrets are decrypted;
// without, only whether they are set.
func (s *Store) scanToken(r rowScanner, reveal bool) (*Token, error) {
	var t Token
	var typ, grant, status, lastUsedBy string
	var secretExp, accessExp, accessIssued, authorized, rtIssued, rtUsed, errAt, nextRefresh, lastUsed, created, updated, rtExp int64
	var rejectionAt, rejectionGen int64
	var errKind string
	var clientKey []byte
	var keyExp int64
	var clientSecret, accessToken, refreshToken []byte
	err := r.Scan(&t.ID, &t.Name, &typ, &t.Email, &t.Tenant, &t.ClientID, &clientSecret, &t.Scope, &t.AuthURL, &t.TokenURL,
		&secretExp, &t.Default, &grant, &accessToken, &refreshToken, &accessExp, &accessIssued,
		&t.GrantedScope, &authorized, &rtIssued, &rtUsed, &status, &t.LastError.Code, &t.LastError.Text,
		&errAt, &t.RefreshFailures, &nextRefresh, &t.Generation, &lastUsed, &lastUsedBy, &created, &updated, &rtExp,
		&rejectionAt, &rejectionGen, &errKind, &t.LastError.HTTPStatus, &t.LastError.Op, &t.SignedInAs, &t.AccountConfirmed,
		&t.DeviceURL, &t.RevokeURL, &t.UserinfoURL, &t.Issuer, &t.ClientAuth, &t.AuthParams, &t.Cloud, &clientKey, &keyExp)
	if err != nil {
		return nil, err
	}
	t.Type, t.Grant, t.Status, t.LastUsedBy = provider.Type(typ), Grant(grant), Status(status), Actor(lastUsedBy)
	t.SecretExpiresOn, t.Expiry, t.AccessIssuedAt = database.FromMillis(secretExp), database.FromMillis(accessExp), database.FromMillis(accessIssued)
	t.AuthorizedAt, t.RefreshIssuedAt, t.RefreshUsedAt = database.FromMillis(authorized), database.FromMillis(rtIssued), database.FromMillis(rtUsed)
	t.LastError.At, t.NextRefreshAt, t.LastUsedAt = database.FromMillis(errAt), database.FromMillis(nextRefresh), database.FromMillis(lastUsed)
	t.CreatedAt, t.UpdatedAt, t.RefreshExpiresAt = database.FromMillis(created), database.FromMillis(updated), database.FromMillis(rtExp)
	t.RejectionRefreshAt = database.FromMillis(rejectionAt)
	t.LastError.Kind = advice.ParseKind(errKind)
	t.KeyExpiresOn, t.HasClientKey = database.FromMillis(keyExp), len(clientKey) > 0
	t.RejectionEpisode = rejectionAt != 0 && rejectionGen == t.Generation
	t.HasClientSecret, t.HasAccessToken, t.HasRefreshToken = len(clientSecret) > 0, len(accessToken) > 0, len(refreshToken) > 0
	if reveal {
		for _, c := range []struct {
			column string
			sealed []byte
			dst    *secret.Secret
		}{
			{"client_secret", clientSecret, &t.ClientSecret},
			{"client_key", clientKey, &t.ClientKey},
			{"access_token", accessToken, &t.AccessToken},
			{"refresh_token", refreshToken, &t.RefreshToken},
		} {
			plain, err := s.db.Unseal(c.sealed, columnAD(t.ID, c.column))
			if err != nil {
				return nil, fmt.Errorf("token %q, %s: %w", t.Name, strings.ReplaceAll(c.column, "_", " "), err)
			}
			*c.dst = secret.New(plain)
		}
	}
	return &t, nil
}

// Get returns the named token with its secrets.
func (s *Store) Get(ctx context.Context, name string) (*Token, error) {
	return s.get(ctx, s.db, name)
}

// GetByID returns the token with this id, with its secrets.
func (s *Store) GetByID(ctx context.Context, id int64) (*Token, error) {
	t, err := s.scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Name: fmt.Sprintf("#%d", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("read token #%d: %w", id, err)
	}
	return t, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// get reads the named token (the default for ""), with its secrets.
func (s *Store) get(ctx context.Context, q querier, name string) (*Token, error) {
	return s.find(ctx, q, name, true)
}

// ref reads the named token without opening its secrets, for changes that
// need only its id and name.
func (s *Store) ref(ctx context.Context, q querier, name string) (*Token, error) {
	return s.find(ctx, q, name, false)
}

func (s *Store) find(ctx context.Context, q querier, name string, reveal bool) (*Token, error) {
	var row *sql.Row
	if name == "" {
		row = q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE is_default = 1`)
	} else {
		row = q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE name = ?`, name)
	}
	t, err := s.scanToken(row, reveal)
	if errors.Is(err, sql.ErrNoRows) {
		known, _ := s.names(ctx, q)
		return nil, &NotFoundError{Name: name, Known: known}
	}
	if err != nil {
		return nil, fmt.Errorf("read token %q: %w", name, err)
	}
	return t, nil
}

// List returns every token, by name, without the secrets themselves (the
// Has* fields say what is stored).
func (s *Store) List(ctx context.Context) ([]*Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*Token
	for rows.Next() {
		t, err := s.scanToken(rows, false)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Names returns the token names, sorted.
func (s *Store) Names(ctx context.Context) ([]string, error) { return s.names(ctx, s.db) }

func (s *Store) names(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM tokens ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Create adds a token in status "new". It refuses invalid settings (a
// fielderr.List naming each field) and duplicate names (ErrDuplicateName).
func (s *Store) Create(ctx context.Context, set Settings, actor Actor) (*Token, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	now := database.Millis(s.now())
	var id int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		// RETURNING: PostgreSQL's driver has no LastInsertId.
		err := tx.QueryRowContext(ctx, `INSERT INTO tokens (name, type, email, tenant, client_id, scope, auth_url, token_url,
			secret_expires_on, device_url, revoke_url, userinfo_url, issuer, client_auth, auth_params, cloud,
			client_key_expires_on, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			set.Name, string(set.Type), set.Email, set.Tenant, set.ClientID, set.Scope, set.AuthURL, set.TokenURL,
			database.Millis(set.SecretExpiresOn), set.DeviceURL, set.RevokeURL, set.UserinfoURL, set.Issuer, set.ClientAuth,
			set.AuthParams, set.Cloud, database.Millis(set.KeyExpiresOn), now, now).Scan(&id)
		if err != nil {
			return uniqueErr(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET client_secret = ?, client_key = ? WHERE id = ?`,
			s.db.Seal(set.ClientSecret.Reveal(), columnAD(id, "client_secret")),
			s.db.Seal(set.ClientKey.Reveal(), columnAD(id, "client_key")), id); err != nil {
			return err
		}
		return addEvent(ctx, tx, id, set.Name, now, actor, EventCreated, "", describeSettings(&set))
	})
	if err != nil {
		return nil, fmt.Errorf("create token %q: %w", set.Name, err)
	}
	return s.Get(ctx, set.Name)
}

// Update changes a token's settings. A zero ClientSecret keeps the stored
// one (the secret is write-only in the admin utility). When the settings the
// provider checks (client, secret, tenant, URLs) change and the token was
// stopped by a configuration error, it becomes usable again so the next use
// retries with the fixed settings. An edit ends a rejection episode (see
// [Source.Rejected]).
func (s *Store) Update(ctx context.Context, name string, set Settings, actor Actor) (*Token, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		old, err := s.get(ctx, tx, name)
		if err != nil {
			return err
		}
		secretChanged := !set.ClientSecret.IsZero() && !set.ClientSecret.Equal(old.ClientSecret)
		if set.ClientSecret.IsZero() {
			set.ClientSecret = old.ClientSecret
		}
		keyChanged := !set.ClientKey.IsZero() && !set.ClientKey.Equal(old.ClientKey)
		switch {
		case set.DropClientKey:
			keyChanged = !old.ClientKey.IsZero()
			set.ClientKey, set.KeyExpiresOn = secret.Secret{}, time.Time{}
		case set.ClientKey.IsZero():
			set.ClientKey = old.ClientKey
			if set.KeyExpiresOn.IsZero() {
				set.KeyExpiresOn = old.KeyExpiresOn
			}
		}
		changes := diffSettings(&old.Settings, &set, secretChanged, keyChanged)
		if len(changes) == 0 {
			return nil
		}
		status := old.Status
		providerFields := secretChanged || keyChanged || old.ClientID != set.ClientID || old.Tenant != set.Tenant ||
			old.TokenURL != set.TokenURL || old.Type != set.Type || old.ClientAuth != set.ClientAuth || old.Cloud != set.Cloud
		if e := old.lastError(); providerFields && old.Status == StatusNeedsAuthorization && old.HasRefreshToken &&
			e != nil && e.Kind == advice.Misconfigured {
			status = StatusValid
		}
		// An admin's word that the signed-in account may use the mailbox
		// was about that mailbox: another one must be confirmed again.
		confirmed := old.AccountConfirmed
		if !strings.EqualFold(strings.TrimSpace(old.Email), strings.TrimSpace(set.Email)) {
			confirmed = ""
		}
		now := database.Millis(s.now())
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET name = ?, type = ?, email = ?, tenant = ?, client_id = ?, client_secret = ?,
			scope = ?, auth_url = ?, token_url = ?, secret_expires_on = ?, device_url = ?, revoke_url = ?, userinfo_url = ?,
			issuer = ?, client_auth = ?, auth_params = ?, cloud = ?, client_key = ?, client_key_expires_on = ?,
			account_confirmed = ?,
			status = ?, next_refresh_at = 0, rejection_refresh_at = 0, generation = generation + 1, updated_at = ? WHERE id = ?`,
			set.Name, string(set.Type), set.Email, set.Tenant, set.ClientID,
			s.db.Seal(set.ClientSecret.Reveal(), columnAD(old.ID, "client_secret")),
			set.Scope, set.AuthURL, set.TokenURL, database.Millis(set.SecretExpiresOn), set.DeviceURL, set.RevokeURL,
			set.UserinfoURL, set.Issuer, set.ClientAuth, set.AuthParams, set.Cloud,
			s.db.Seal(set.ClientKey.Reveal(), columnAD(old.ID, "client_key")), database.Millis(set.KeyExpiresOn),
			confirmed, string(status), now, old.ID)
		if err != nil {
			return uniqueErr(err)
		}
		return addEvent(ctx, tx, old.ID, set.Name, now, actor, EventEdited, "", strings.Join(changes, "; "))
	})
	if err != nil {
		return nil, fmt.Errorf("update token %q: %w", name, err)
	}
	return s.Get(ctx, set.Name)
}

// Delete removes a token. Its events stay, ending with "deleted".
func (s *Store) Delete(ctx context.Context, name string, actor Actor) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := s.ref(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, t.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, t.ID, t.Name, database.Millis(s.now()), actor, EventDeleted, "", "")
	})
	if err != nil {
		return fmt.Errorf("delete token %q: %w", name, err)
	}
	return nil
}

// SetDefault makes the named token the default (used by task files that
// name none); an empty name clears the default.
func (s *Store) SetDefault(ctx context.Context, name string, actor Actor) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET is_default = 0 WHERE is_default = 1`); err != nil {
			return err
		}
		if name == "" {
			return nil
		}
		t, err := s.ref(ctx, tx, name)
		if err != nil {
			return err
		}
		now := database.Millis(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET is_default = 1, updated_at = ? WHERE id = ?`, now, t.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, t.ID, t.Name, now, actor, EventDefaultSet, "", "")
	})
	if err != nil {
		return fmt.Errorf("set default token %q: %w", name, err)
	}
	return nil
}

// SaveGrant stores what an authorization returned (Get Email Token, device
// sign-in, app-only token, or pasted tokens) and makes the token valid. It
// records who signed in (tok.Account; "" for app-only and pasted tokens)
// and clears the last error, a failed sign-in's included.
// Without a new refresh token, an existing one is kept for the interactive
// grants (Google sends none when it does not show the consent screen) and
// dropped for the others. A new grant ends a rejection episode (see
// [Source.Rejected]).
func (s *Store) SaveGrant(ctx context.Context, name string, grant Grant, tok *provider.Token, actor Actor) (*Token, error) {
	if tok == nil || tok.AccessToken.IsZero() {
		return nil, fmt.Errorf("save token %q: no access token", name)
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := s.get(ctx, tx, name)
		if err != nil {
			return err
		}
		now := s.now()
		rt, rtIssued, rtExpires := tok.RefreshToken, now, refreshExpiry(now, tok)
		if rt.IsZero() && (grant == GrantAuthorizationCode || grant == GrantDeviceCode) {
			rt, rtIssued, rtExpires = t.RefreshToken, t.RefreshIssuedAt, t.RefreshExpiresAt
		}
		if rt.IsZero() {
			rtIssued, rtExpires = time.Time{}, time.Time{}
		}
		nowMs := database.Millis(now)
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET grant_kind = ?, access_token = ?, refresh_token = ?,
			access_expires_at = ?, access_issued_at = ?, granted_scope = ?, authorized_at = ?, refresh_issued_at = ?,
			refresh_used_at = 0, status = 'valid', last_error_code = '', last_error_text = '', last_error_at = 0,
			last_error_kind = '', last_error_status = 0, last_error_op = '', signed_in_as = ?,
			refresh_failures = 0, next_refresh_at = 0, refresh_expires_at = ?, rejection_refresh_at = 0,
			generation = generation + 1, updated_at = ? WHERE id = ?`,
			string(grant), s.db.Seal(tok.AccessToken.Reveal(), columnAD(t.ID, "access_token")),
			s.db.Seal(rt.Reveal(), columnAD(t.ID, "refresh_token")),
			database.Millis(expiryOf(now, tok)), nowMs, tok.Scope, nowMs, database.Millis(rtIssued), tok.Account,
			database.Millis(rtExpires), nowMs, t.ID)
		if err != nil {
			return err
		}
		text := string(grant)
		if tok.Scope != "" {
			text += "; scope: " + tok.Scope
		}
		if rt.IsZero() {
			text += "; no refresh token"
		}
		if tok.Account != "" {
			text += "; signed in as " + tok.Account
		}
		return addEvent(ctx, tx, t.ID, t.Name, nowMs, actor, EventAuthorized, "", text)
	})
	if err != nil {
		return nil, fmt.Errorf("save token %q: %w", name, err)
	}
	return s.Get(ctx, name)
}

// MarkRevoked forgets a token's access and refresh tokens and sets its
// status to revoked. Revoking at the provider is the caller's part (see
// Revoke).
func (s *Store) MarkRevoked(ctx context.Context, name string, actor Actor, note string) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := s.ref(ctx, tx, name)
		if err != nil {
			return err
		}
		now := database.Millis(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET access_token = NULL, refresh_token = NULL, access_expires_at = 0,
			access_issued_at = 0, refresh_issued_at = 0, refresh_used_at = 0, refresh_expires_at = 0, status = 'revoked', refresh_failures = 0,
			next_refresh_at = 0, rejection_refresh_at = 0, generation = generation + 1, updated_at = ? WHERE id = ?`, now, t.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, t.ID, t.Name, now, actor, EventRevoked, "", note)
	})
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", name, err)
	}
	return nil
}

// ProviderConfig is the ready configuration to talk to t's provider: t's
// settings, the store's HTTP client (Options.HTTPClient) and redirectURL,
// where the provider sends the browser back after Get Email Token ("" for
// every other flow).
func (s *Store) ProviderConfig(t *Token, redirectURL string) provider.Config {
	c := t.Config
	c.HTTPClient, c.RedirectURL, c.Now = s.client, redirectURL, s.now
	return c
}

// Revoke revokes the token at the provider where the provider allows it
// (Google), then forgets it here. It returns advice for the admin (for
// Microsoft: how to cut access in Entra). When the provider's revocation
// fails, nothing changes here, so it can be retried.
func (s *Store) Revoke(ctx context.Context, name string, actor Actor) (advice string, err error) {
	t, err := s.Get(ctx, name)
	if err != nil {
		return "", err
	}
	cfg := s.ProviderConfig(t, "")
	tok := t.RefreshToken
	if tok.IsZero() {
		tok = t.AccessToken
	}
	if !tok.IsZero() {
		if err := cfg.Revoke(ctx, tok.Reveal()); err != nil && !errors.Is(err, provider.ErrNoRevocation) {
			return "", fmt.Errorf("revoke token %q at the provider: %w", name, err)
		}
	}
	if err := s.MarkRevoked(ctx, name, actor, ""); err != nil {
		return "", err
	}
	return cfg.RevokeAdvice(), nil
}

func uniqueErr(err error) error {
	if database.IsUniqueViolation(err) {
		return ErrDuplicateName
	}
	return err
}

// describeSettings is the "created" event's text: every setting but secrets.
func describeSettings(s *Settings) string {
	parts := []string{"type " + string(s.Type)}
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+" "+v)
		}
	}
	add("email", s.Email)
	add("tenant", s.Tenant)
	add("client id", s.ClientID)
	add("scope", s.Scope)
	add("authorization URL", s.AuthURL)
	add("token URL", s.TokenURL)
	add("device authorization URL", s.DeviceURL)
	add("revocation URL", s.RevokeURL)
	add("userinfo URL", s.UserinfoURL)
	add("issuer", s.Issuer)
	add("client authentication", s.ClientAuth)
	add("authorization parameters", s.AuthParams)
	add("cloud", s.Cloud)
	if !s.ClientSecret.IsZero() {
		parts = append(parts, "client secret set")
	}
	if !s.ClientKey.IsZero() {
		parts = append(parts, "client key set")
	}
	return strings.Join(parts, "; ")
}

// diffSettings lists what changed, never showing a secret.
func diffSettings(old, new *Settings, secretChanged, keyChanged bool) []string {
	var out []string
	cmp := func(label, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s %q -> %q", label, a, b))
		}
	}
	cmp("name", old.Name, new.Name)
	cmp("type", string(old.Type), string(new.Type))
	cmp("email", old.Email, new.Email)
	cmp("tenant", old.Tenant, new.Tenant)
	cmp("client id", old.ClientID, new.ClientID)
	cmp("scope", old.Scope, new.Scope)
	cmp("authorization URL", old.AuthURL, new.AuthURL)
	cmp("token URL", old.TokenURL, new.TokenURL)
	cmp("device authorization URL", old.DeviceURL, new.DeviceURL)
	cmp("revocation URL", old.RevokeURL, new.RevokeURL)
	cmp("userinfo URL", old.UserinfoURL, new.UserinfoURL)
	cmp("issuer", old.Issuer, new.Issuer)
	cmp("client authentication", old.ClientAuth, new.ClientAuth)
	cmp("authorization parameters", old.AuthParams, new.AuthParams)
	cmp("cloud", old.Cloud, new.Cloud)
	if !old.KeyExpiresOn.Equal(new.KeyExpiresOn) {
		out = append(out, "client key expiry "+dateOrNone(old.KeyExpiresOn)+" -> "+dateOrNone(new.KeyExpiresOn))
	}
	switch {
	case keyChanged && new.ClientKey.IsZero():
		out = append(out, "client key removed")
	case keyChanged:
		out = append(out, "client key replaced")
	}
	if !old.SecretExpiresOn.Equal(new.SecretExpiresOn) {
		out = append(out, "client secret expiry "+dateOrNone(old.SecretExpiresOn)+" -> "+dateOrNone(new.SecretExpiresOn))
	}
	if secretChanged {
		out = append(out, "client secret replaced")
	}
	return out
}

func dateOrNone(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.Format(time.DateOnly)
}

// assumedLifetime is used when a provider does not say how long an access
// token lives (pasted tokens, some generic providers): an hour is the common
// value, and refreshing early is harmless.
const assumedLifetime = time.Hour

// refreshExpiry is when tok's refresh token dies, if the provider said.
func refreshExpiry(now time.Time, tok *provider.Token) time.Time {
	if tok.RefreshExpiresIn <= 0 || tok.RefreshToken.IsZero() {
		return time.Time{}
	}
	return now.Add(tok.RefreshExpiresIn)
}

// expiryOf is when tok's access token expires, counted from now.
func expiryOf(now time.Time, tok *provider.Token) time.Time {
	if tok.ExpiresIn <= 0 {
		return now.Add(assumedLifetime)
	}
	return now.Add(tok.ExpiresIn)
}
