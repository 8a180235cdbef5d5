package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/health"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

func runTokenShow(env *Env, args []string) error {
	fs := flag.NewFlagSet("token show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	return env.withToken(fs, args, func(store *tokenstore.Store, name string) error {
		return showToken(env, store, name, *asJSON)
	})
}

func showToken(env *Env, store *tokenstore.Store, name string, asJSON bool) error {
	t, err := store.Get(env.Ctx, name)
	if err != nil {
		return err
	}
	events, err := store.Events(env.Ctx, t.Name, 20)
	if err != nil {
		return err
	}
	tasks, err := store.Tasks(env.Ctx, t.Name)
	if err != nil {
		return err
	}
	now := time.Now()
	if asJSON {
		type eventJSON struct {
			At    time.Time `json:"at"`
			Actor string    `json:"actor"`
			Kind  string    `json:"kind"`
			Code  string    `json:"code,omitempty"`
			Text  string    `json:"text,omitempty"`
		}
		out := struct {
			tokenJSON
			Events []eventJSON `json:"events"`
		}{tokenJSON: toJSON(t, tasks, now)}
		for _, e := range events {
			out.Events = append(out.Events, eventJSON{e.At.UTC(), string(e.Actor), string(e.Kind), e.Code, e.Text})
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	h := health.Of(t, tasks, now)
	w := env.Stdout
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-22s %s\n", k+":", v)
		}
	}
	line("Name", t.Name)
	line("Type", t.Type.Label())
	line("Email", t.Email)
	line("Tenant", t.Tenant)
	if c, ok := provider.LookupCloud(t.Cloud); ok && t.Cloud != "" && c.Name != provider.CloudGlobal {
		line("Cloud", c.Name+" ("+c.Label+")")
	}
	line("Client ID", t.ClientID)
	line("Client secret", map[bool]string{true: "set (encrypted)", false: "not set"}[t.HasClientSecret])
	if !t.SecretExpiresOn.IsZero() {
		line("Secret expires", t.SecretExpiresOn.Format(time.DateOnly))
	}
	line("Client auth", t.ClientAuth)
	line("Client key", clientKey(t))
	line("Scope", t.Scope)
	scopes, appOnly := requestedScopes(t)
	switch {
	case t.Type == provider.Google && t.HasClientKey:
		line("Requests scopes", strings.Join(scopes, " ")+" (service account, for "+t.Email+")")
	case appOnly:
		line("Requests scopes", strings.Join(scopes, " ")+" (app-only)")
	default:
		line("Requests scopes", strings.Join(scopes, " "))
	}
	line("Token URL", t.Endpoints().Token)
	line("Status", h.Status)
	line("Why", h.Detail)
	for _, warn := range h.Warnings {
		line("Warning", warn)
	}
	if t.HasAccessToken {
		line("Access token expires", t.Expiry.Local().Format("2006-01-02 15:04:05 MST")+" ("+health.When(t.Expiry, now)+")")
	}
	line("Refresh token", map[bool]string{true: "stored", false: "none"}[t.HasRefreshToken])
	line("Obtained by", string(t.Grant))
	line("Signed in as", signedInAs(t))
	if !t.LastUsedAt.IsZero() {
		line("Last used", health.When(t.LastUsedAt, now)+" by "+string(t.LastUsedBy))
	}
	if t.Default {
		line("Default", "yes")
	}
	if len(h.Tasks) > 0 {
		fmt.Fprintln(w, "\nTask files using it:")
		for _, r := range h.Tasks {
			fmt.Fprintf(w, "  %s (%s on %s): %s\n", r.Task, r.Actor, r.Host, r.Words)
		}
	}
	if len(events) > 0 {
		fmt.Fprintln(w, "\nEvents:")
		for _, e := range events {
			code := ""
			if e.Code != "" && !strings.Contains(e.Text, e.Code) {
				code = " [" + e.Code + "]"
			}
			fmt.Fprintf(w, "  %s  %-20s %-12s%s %s\n", e.At.Local().Format("2006-01-02 15:04:05 MST"), e.Kind, e.Actor, code, e.Text)
		}
	}
	return nil
}

// signedInAs says who signed in and whether that is the mailbox's account.
func signedInAs(t *tokenstore.Token) string {
	switch {
	case t.AccountMismatch():
		return t.SignedInAs + " (not " + t.Email + ": confirm in the web utility that it has access, or sign in again as " + t.Email + ")"
	case t.AccountDiffers():
		return t.SignedInAs + " (confirmed: has access to " + t.Email + ")"
	}
	return t.SignedInAs
}

// requestedScopes are the scopes the token's next grant asks for, and
// whether it is app-only: the .default scope (Microsoft client
// credentials) or a service account's scopes, never offline_access; a
// person's sign-in's otherwise.
func requestedScopes(t *tokenstore.Token) ([]string, bool) {
	switch {
	case t.Type == provider.Google && t.HasClientKey: // List leaves the key itself out
		return t.ServiceAccountScopes(), true
	case t.Grant.AppOnly():
		return t.AppOnlyScopes(), true
	}
	return t.Scopes(), false
}

// clientKey says what key is stored, never the key: "certificate CN=…,
// expires …, thumbprint …", or why it cannot be read.
func clientKey(t *tokenstore.Token) string {
	if !t.HasClientKey {
		return ""
	}
	if t.ClientKey.IsZero() {
		return "stored (encrypted)" // List leaves the key itself out
	}
	info, err := t.ClientKeyInfo()
	if err != nil {
		return "stored (encrypted), but it " + provider.KeyProblem(err)
	}
	return info.String() + " (stored encrypted)"
}
