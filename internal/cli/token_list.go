package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"mailtokens/internal/health"
	"mailtokens/internal/tokenstore"
)

// tokenJSON is a token as `token list --json` and `token show --json`
// print it: every setting and state, never a secret.
type tokenJSON struct {
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	Email           string     `json:"email,omitempty"`
	Tenant          string     `json:"tenant,omitempty"`
	ClientID        string     `json:"client_id"`
	HasClientSecret bool       `json:"has_client_secret"`
	SecretExpiresOn string     `json:"client_secret_expires_on,omitempty"`
	Scope           string     `json:"scope,omitempty"`
	AuthURL         string     `json:"auth_url,omitempty"`
	TokenURL        string     `json:"token_url,omitempty"`
	Default         bool       `json:"default"`
	Status          string     `json:"status"`
	Health          string     `json:"health"` // ok, warn, bad, idle
	StatusText      string     `json:"status_text"`
	Detail          string     `json:"detail,omitempty"`
	Warnings        []string   `json:"warnings,omitempty"`
	Grant           string     `json:"grant,omitempty"`
	AccessExpiresAt *time.Time `json:"access_expires_at,omitempty"`
	HasRefreshToken bool       `json:"has_refresh_token"`
	RefreshIssuedAt *time.Time `json:"refresh_issued_at,omitempty"`
	LastError       string     `json:"last_error,omitempty"`
	UpdatedAt       time.Time  `json:"updated_at"`
	LastUsedAt      *time.Time `json:"last_used_at,omitempty"`
	LastUsedBy      string     `json:"last_used_by,omitempty"`
	// Who last signed in for the token; the account an admin confirmed has
	// access to the mailbox; whether the one is not the Email Address and
	// not confirmed.
	SignedInAs       string `json:"signed_in_as,omitempty"`
	AccountConfirmed string `json:"account_confirmed,omitempty"`
	AccountMismatch  bool   `json:"account_mismatch,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toJSON(t *tokenstore.Token, now time.Time) tokenJSON {
	h := health.Of(t, now)
	j := tokenJSON{
		Name: t.Name, Type: string(t.Type), Email: t.Email, Tenant: t.Tenant, ClientID: t.ClientID,
		HasClientSecret: t.HasClientSecret, Scope: t.Scope, AuthURL: t.AuthURL, TokenURL: t.TokenURL,
		Default: t.Default, Status: string(t.Status), Health: h.Level.Class(), StatusText: h.Status,
		Detail: h.Detail, Warnings: h.Warnings, Grant: string(t.Grant), HasRefreshToken: t.HasRefreshToken,
		UpdatedAt: t.UpdatedAt.UTC(), LastUsedBy: string(t.LastUsedBy),
		RefreshIssuedAt: optTime(t.RefreshIssuedAt), LastUsedAt: optTime(t.LastUsedAt),
		SignedInAs: t.SignedInAs, AccountConfirmed: t.AccountConfirmed, AccountMismatch: t.AccountMismatch(),
	}
	if t.HasAccessToken {
		j.AccessExpiresAt = optTime(t.Expiry)
	}
	if !t.SecretExpiresOn.IsZero() {
		j.SecretExpiresOn = t.SecretExpiresOn.Format(time.DateOnly)
	}
	if !t.LastError.IsZero() {
		j.LastError = t.LastError.Code + ": " + t.LastError.Text
	}
	return j
}

func runTokenList(env *Env, args []string) error {
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := env.Parse(fs, args, 0); err != nil {
		return err
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	tokens, err := store.List(env.Ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if *asJSON {
		out := []tokenJSON{}
		for _, t := range tokens {
			out = append(out, toJSON(t, now))
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(tokens) == 0 {
		fmt.Fprintln(env.Stdout, "no tokens yet: add one with `evadmin token add NAME --type …` or in the web utility")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tEMAIL\tSTATUS\tACCESS TOKEN EXPIRES\tLAST USED")
	warned := false
	for _, t := range tokens {
		h := health.Of(t, now)
		name := t.Name
		if t.Default {
			name += " (default)"
		}
		expires := "—"
		if t.HasAccessToken {
			expires = t.Expiry.Local().Format("2006-01-02 15:04")
		}
		used := "never"
		if !t.LastUsedAt.IsZero() {
			used = health.When(t.LastUsedAt, now) + " by " + string(t.LastUsedBy)
		}
		status := h.Status
		if len(h.Warnings) > 0 {
			status += " (!)"
			warned = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, t.Type, t.Email, status, expires, used)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if warned {
		fmt.Fprintln(env.Stdout, "\n(!) something will break soon: `evadmin token show NAME` says what and what to do")
	}
	return nil
}
