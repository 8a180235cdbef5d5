// Package keepalive refreshes tokens that no worker has used for a long
// time, well before their provider ends them for inactivity (Microsoft:
// refresh tokens unused for 90 days; Google: 6 months), so that a mailbox
// read once a quarter still works. `evadmin serve` runs it.
package keepalive

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"mailtokens/internal/tokenstore"
)

// IdleAfter is how long a refresh token may go unused before it is
// refreshed here: a third of Microsoft's limit.
const IdleAfter = 30 * 24 * time.Hour

// Every is how often Run looks.
const Every = time.Hour

// Run does a Pass at once and then every Every until ctx ends.
func Run(ctx context.Context, store *tokenstore.Store, log *slog.Logger) {
	tick := time.NewTicker(Every)
	defer tick.Stop()
	for {
		Pass(ctx, store, log)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Pass refreshes every token whose refresh token has been idle for
// IdleAfter, and records why in its event log. It returns the names it
// refreshed. A failure is recorded by the store like any refresh's, and
// logged.
func Pass(ctx context.Context, store *tokenstore.Store, log *slog.Logger) []string {
	tokens, err := store.List(ctx)
	if err != nil {
		log.Error("idle-token check: could not list the tokens", "err", err)
		return nil
	}
	now := store.Now()
	var done []string
	for _, t := range tokens {
		idle, ok := Idle(t, now)
		if !ok {
			continue
		}
		days := int(idle / (24 * time.Hour))
		if _, err := store.Source(t.Name, tokenstore.ActorServe).Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return done
			}
			log.Warn("could not refresh an idle token", "token", t.Name, "idle_days", days, "err", err)
			continue
		}
		text := fmt.Sprintf("no worker refreshed it for %d days: refreshed now so that %s does not end it for inactivity", days, t.Type.Label())
		if err := store.Record(ctx, t.Name, tokenstore.ActorServe, tokenstore.EventKeptAlive, text); err != nil {
			log.Warn("could not record the idle refresh", "token", t.Name, "err", err)
		}
		log.Info("refreshed an idle token", "token", t.Name, "idle_days", days)
		done = append(done, t.Name)
	}
	return done
}

// Idle says how long t's refresh token has gone unused, and whether that
// is long enough for Pass to refresh it. Only delegated tokens with a
// refresh token can die of inactivity; app-only tokens are fetched anew.
func Idle(t *tokenstore.Token, now time.Time) (time.Duration, bool) {
	if !t.HasRefreshToken || t.Grant.AppOnly() ||
		(t.Status != tokenstore.StatusValid && t.Status != tokenstore.StatusRefreshFailing) {
		return 0, false
	}
	last := t.RefreshUsedAt
	for _, at := range []time.Time{t.RefreshIssuedAt, t.AuthorizedAt} {
		if at.After(last) {
			last = at
		}
	}
	if last.IsZero() {
		return 0, false
	}
	idle := now.Sub(last)
	return idle, idle >= IdleAfter
}
