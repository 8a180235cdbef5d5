package notify_test

import (
	"testing"
	"time"

	"mailtokens/internal/notify"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

func kinds(ps []notify.Problem) map[string]notify.Problem {
	out := map[string]notify.Problem{}
	for _, p := range ps {
		out[p.Kind] = p
	}
	return out
}

// The client secret's expiry is told at 30, 7 and 1 days (each stage
// once), then daily once expired; refresh tokens about to die and stopped
// or recovering tasks are judged by their own fields.
func TestFind(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	day := func(n int) time.Time { return time.Date(2026, 3, 2+n, 0, 0, 0, 0, time.UTC) }
	valid := func() *tokenstore.Token {
		return &tokenstore.Token{Status: tokenstore.StatusValid, HasRefreshToken: true, RefreshUsedAt: now.Add(-time.Hour),
			Settings: tokenstore.Settings{Name: "x", Config: provider.Config{Type: provider.Microsoft}}}
	}
	for _, c := range []struct {
		days  int
		stage string
		daily bool
	}{{31, "", false}, {30, "30d", false}, {8, "30d", false}, {7, "7d", false}, {1, "1d", false}, {0, "1d", false}, {-1, "expired", true}} {
		tok := valid()
		tok.SecretExpiresOn = day(c.days)
		p, ok := kinds(notify.Find(tok, nil, now, time.Minute))[notify.SecretExpiry]
		if ok != (c.stage != "") || p.Stage != c.stage || p.Daily != c.daily {
			t.Errorf("secret in %d days: %+v (found %v), want stage %q daily %v", c.days, p, ok, c.stage, c.daily)
		}
	}

	// The certificate's expiry is its own problem, told the same way.
	tok := valid()
	tok.HasClientKey, tok.KeyExpiresOn = true, day(20)
	if p, ok := kinds(notify.Find(tok, nil, now, time.Minute))[notify.KeyExpiry]; !ok || p.Stage != "30d" ||
		p.Summary != "certificate expires in 20 days (2026-03-22)" {
		t.Errorf("certificate in 20 days: %+v (found %v)", p, ok)
	}

	tok = valid()
	tok.Status = tokenstore.StatusRevoked
	tok.SecretExpiresOn = day(3)
	if ps := notify.Find(tok, nil, now, time.Minute); len(ps) != 0 {
		t.Errorf("revoked: %+v", ps)
	}

	tok = valid()
	tok.Type, tok.RefreshExpiresAt = provider.Google, now.Add(47*time.Hour)
	if p, ok := kinds(notify.Find(tok, nil, now, time.Minute))[notify.RefreshExpiring]; !ok || !p.Daily {
		t.Errorf("Google Testing token: %+v", p)
	}
	tok = valid()
	tok.RefreshUsedAt = now.Add(-61 * 24 * time.Hour)
	if _, ok := kinds(notify.Find(tok, nil, now, time.Minute))[notify.RefreshIdle]; !ok {
		t.Error("Microsoft refresh token idle 61 days: not found")
	}

	failing := tokenstore.TaskUse{Actor: tokenstore.ActorBatchmail, Task: "a", FailingSince: now.Add(-20 * time.Minute)}
	stopped := failing // a -once task's failure counts for a day after it stopped
	stopped.StoppedAt = now.Add(-25 * time.Hour)
	lately := failing
	lately.StoppedAt = now.Add(-time.Minute)
	for _, c := range []struct {
		name  string
		tasks []tokenstore.TaskUse
		grace time.Duration
		want  bool
	}{{"failing", []tokenstore.TaskUse{failing}, 15 * time.Minute, true},
		{"within grace", []tokenstore.TaskUse{failing}, 30 * time.Minute, false},
		{"stopped a day ago", []tokenstore.TaskUse{stopped}, 15 * time.Minute, false},
		{"-once, stopped lately", []tokenstore.TaskUse{lately}, 15 * time.Minute, true},
		{"recovered", []tokenstore.TaskUse{{Task: "b", LastOK: now}}, 15 * time.Minute, false}} {
		if _, ok := kinds(notify.Find(valid(), c.tasks, now, c.grace))[notify.MailFailing]; ok != c.want {
			t.Errorf("%s: mail_failing %v, want %v", c.name, ok, c.want)
		}
	}
}
