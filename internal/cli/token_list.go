package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"mailtokens/internal/health"
	"mailtokens/internal/tokenstore"
)

// tokenJSON is a token as `token list --json` and `token show --json`
// print it: every setting and state, never a secret.
type tokenJSON struct {
	Name            string `json:"name"`
	Type            string `json:"type"`
	Email           string `json:"email,omitempty"`
	Tenant          string `json:"tenant,omitempty"`
	ClientID        string `json:"client_id"`
	HasClientSecret bool   `json:"has_client_secret"`
	SecretExpiresOn string `json:"client_secret_expires_on,omitempty"`
	ClientAuth      string `json:"client_auth,omitempty"`
	HasClientKey    bool   `json:"has_client_key"`
	ClientKey       string `json:"client_key,omitempty"` // what key: "certificate CN=…, expires …, thumbprint …"
	KeyExpiresOn    string `json:"client_key_expires_on,omitempty"`
	Scope           string `json:"scope,omitempty"`
	// RequestedScopes is what the next grant asks for, space-separated;
	// AppOnly says it is an app-only grant (client credentials, service
	// account), with no refresh token.
	RequestedScopes string     `json:"requested_scopes"`
	AppOnly         bool       `json:"app_only"`
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
	LastError       *errorJSON `json:"last_error,omitempty"`
	UpdatedAt       time.Time  `json:"updated_at"`
	LastUsedAt      *time.Time `json:"last_used_at,omitempty"`
	LastUsedBy      string     `json:"last_used_by,omitempty"`
	FailingTasks    int        `json:"failing_tasks"`
	Tasks           []taskJSON `json:"tasks"`
	// Who last signed in for the token; the account an admin confirmed has
	// access to the mailbox; whether the one is not the Email Address and
	// not confirmed.
	SignedInAs       string `json:"signed_in_as,omitempty"`
	AccountConfirmed string `json:"account_confirmed,omitempty"`
	AccountMismatch  bool   `json:"account_mismatch,omitempty"`
}

// errorJSON is the last error as stored: what it was and who must act.
type errorJSON struct {
	Op         string    `json:"op"`   // refresh, sign-in
	Code       string    `json:"code"` // OAuth2 error code, or http, timeout, network
	Text       string    `json:"text,omitempty"`
	HTTPStatus int       `json:"http_status,omitempty"`
	Kind       string    `json:"kind,omitempty"` // temporary, reauthorize, misconfigured
	Explained  string    `json:"explained,omitempty"`
	At         time.Time `json:"at"`
}

// taskJSON is a task file using the token and how its logins go.
type taskJSON struct {
	Task          string     `json:"task"`
	Program       string     `json:"program"`
	Host          string     `json:"host"`
	PID           int        `json:"pid,omitempty"`
	Server        string     `json:"server,omitempty"`
	User          string     `json:"user,omitempty"`
	State         string     `json:"state"` // starting, ok, failing, silent, stopped
	StateText     string     `json:"state_text"`
	StartedAt     *time.Time `json:"started_at,omitempty"`
	StoppedAt     *time.Time `json:"stopped_at,omitempty"`
	LastSeenAt    *time.Time `json:"last_seen_at,omitempty"`
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	LastFailureAt *time.Time `json:"last_failure_at,omitempty"`
	FailingSince  *time.Time `json:"failing_since,omitempty"`
	Failures      int64      `json:"failures"`
	LastReply     string     `json:"last_reply,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toJSON(t *tokenstore.Token, tasks []tokenstore.TaskUse, now time.Time) tokenJSON {
	h := health.Of(t, tasks, now)
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
	j.ClientAuth, j.HasClientKey, j.ClientKey = t.ClientAuth, t.HasClientKey, clientKey(t)
	if !t.KeyExpiresOn.IsZero() {
		j.KeyExpiresOn = t.KeyExpiresOn.Format(time.DateOnly)
	}
	scopes, appOnly := requestedScopes(t)
	j.RequestedScopes, j.AppOnly = strings.Join(scopes, " "), appOnly
	if e := t.LastError; !e.IsZero() {
		j.LastError = &errorJSON{Op: e.Op, Code: e.Code, Text: e.Text, HTTPStatus: e.HTTPStatus, Kind: e.Kind.Code(),
			Explained: t.Explain(), At: e.At.UTC()}
	}
	j.FailingTasks, j.Tasks = h.Failing, []taskJSON{}
	for _, r := range h.Tasks {
		j.Tasks = append(j.Tasks, taskJSON{Task: r.Task, Program: string(r.Actor), Host: r.Host, PID: r.PID,
			Server: r.Server, User: r.User, State: string(r.State), StateText: r.Words,
			StartedAt: optTime(r.StartedAt), StoppedAt: optTime(r.StoppedAt), LastSeenAt: optTime(r.LastSeen),
			LastSuccessAt: optTime(r.LastOK), LastFailureAt: optTime(r.LastFailure), FailingSince: optTime(r.FailingSince),
			Failures: r.Failures, LastReply: r.LastReply})
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
	tasks, err := store.AllTasks(env.Ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if *asJSON {
		out := []tokenJSON{}
		for _, t := range tokens {
			out = append(out, toJSON(t, tasks[t.ID], now))
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
		h := health.Of(t, tasks[t.ID], now)
		name := t.Name
		if t.Default {
			name += " (default)"
		}
		expires := "—"
		if t.HasAccessToken {
			expires = t.Expiry.Local().Format("2006-01-02 15:04 MST")
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
