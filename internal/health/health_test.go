package health

import (
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// Times are shown in the server's zone; the tests' server is in UTC.
func init() { time.Local = time.UTC }

func TestOf(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		tok     tokenstore.Token
		status  string
		level   Level
		detail  string
		warning string
	}{
		{"new", tokenstore.Token{Status: tokenstore.StatusNew}, "not yet authorized", Idle, "Get Email Token", ""},
		{"valid", tokenstore.Token{Status: tokenstore.StatusValid, Expiry: now.Add(42 * time.Minute), HasRefreshToken: true,
			Settings: tokenstore.Settings{Config: provider.Config{Type: provider.Microsoft}}, RefreshUsedAt: now}, "valid · expires in 42 min", OK, "", ""},
		{"valid between uses", tokenstore.Token{Status: tokenstore.StatusValid, Expiry: now.Add(-time.Hour), HasRefreshToken: true},
			"valid · refreshed on next use", OK, "", ""},
		{"expired pasted", tokenstore.Token{Status: tokenstore.StatusValid, Expiry: now.Add(-time.Hour)}, "expired", Problem, "no refresh token", ""},
		{"needs authorization", tokenstore.Token{Status: tokenstore.StatusNeedsAuthorization, Settings: tokenstore.Settings{Config: provider.Config{Type: provider.Microsoft}},
			LastError: tokenstore.ErrorInfo{Code: "invalid_grant", Text: "AADSTS700082: The refresh token has expired due to inactivity."}},
			"needs authorization", Problem, "90 days", ""},
		{"refresh failing, still valid", tokenstore.Token{Status: tokenstore.StatusRefreshFailing, Expiry: now.Add(5 * time.Minute),
			NextRefreshAt: now.Add(40 * time.Second), LastError: tokenstore.ErrorInfo{Code: "network", Text: "connection refused"}},
			"refresh failing", Warning, "Next attempt in 1 min", ""},
		{"refresh failing, expired", tokenstore.Token{Status: tokenstore.StatusRefreshFailing, Expiry: now.Add(-5 * time.Minute),
			LastError: tokenstore.ErrorInfo{Code: "network", Text: "timeout"}}, "refresh failing", Problem, "retried", ""},
		{"revoked", tokenstore.Token{Status: tokenstore.StatusRevoked}, "revoked", Off, "authorize it again", ""},
		{"microsoft idle 61 days", tokenstore.Token{Status: tokenstore.StatusValid, Settings: tokenstore.Settings{Config: provider.Config{Type: provider.Microsoft}},
			HasRefreshToken: true, RefreshIssuedAt: now.Add(-70 * day), RefreshUsedAt: now.Add(-61 * day)},
			"valid · refreshed on next use", OK, "", "not been used for 61 days"},
		{"google testing", tokenstore.Token{Status: tokenstore.StatusValid, Settings: tokenstore.Settings{Config: provider.Config{Type: provider.Google}},
			Expiry: now.Add(time.Hour), HasRefreshToken: true, RefreshExpiresAt: now.Add(2 * day)},
			"valid · expires in 1 h", OK, "", "In production"},
		{"secret expiring", tokenstore.Token{Status: tokenstore.StatusValid, Expiry: now.Add(time.Hour), HasRefreshToken: true,
			Settings: tokenstore.Settings{SecretExpiresOn: now.Add(20 * day)}}, "valid · expires in 1 h", OK, "", "client secret expires in 20 days"},
		{"secret expired", tokenstore.Token{Status: tokenstore.StatusNew, Settings: tokenstore.Settings{SecretExpiresOn: now.Add(-day)}},
			"not yet authorized", Idle, "", "expired on 2026-11-21"},
		{"secret far away", tokenstore.Token{Status: tokenstore.StatusValid, Expiry: now.Add(time.Hour), HasRefreshToken: true,
			Settings: tokenstore.Settings{SecretExpiresOn: now.Add(300 * day)}}, "valid · expires in 1 h", OK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Of(&tt.tok, nil, now)
			if r.Status != tt.status || r.Level != tt.level {
				t.Fatalf("got %q level %v, want %q level %v", r.Status, r.Level, tt.status, tt.level)
			}
			if tt.detail != "" && !strings.Contains(r.Detail, tt.detail) {
				t.Fatalf("detail %q lacks %q", r.Detail, tt.detail)
			}
			joined := strings.Join(r.Warnings, " | ")
			if tt.warning == "" && joined != "" {
				t.Fatalf("unexpected warnings: %s", joined)
			}
			if !strings.Contains(joined, tt.warning) {
				t.Fatalf("warnings %q lack %q", joined, tt.warning)
			}
		})
	}
}

func TestWhen(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "now"}, {10 * time.Second, "now"}, {42 * time.Minute, "in 42 min"}, {-5 * time.Minute, "5 min ago"},
		{90 * time.Minute, "in 1 h 30 min"}, {2 * time.Hour, "in 2 h"}, {119*time.Minute + 50*time.Second, "in 2 h"},
		{30 * time.Hour, "in 30 h"}, {59*time.Minute + 59*time.Second, "in 1 h"}, {-3 * 24 * time.Hour, "3 days ago"},
	} {
		if got := When(now.Add(tt.d), now); got != tt.want {
			t.Errorf("When(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// A secret that expires on the 10th expires "in 4 days" all through the
// 6th, "today" on the 10th, and has expired on the 11th: calendar days,
// not 24-hour spans (it said "in 3 days" on the 6th after midnight).
func TestSecretExpiryCountsCalendarDays(t *testing.T) {
	expires := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 12, 6, 0, 1, 0, 0, time.UTC), "expires in 4 days (2026-12-10)"},
		{time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC), "expires in 4 days (2026-12-10)"},
		{time.Date(2026, 12, 9, 12, 0, 0, 0, time.UTC), "expires tomorrow (2026-12-10)"},
		{time.Date(2026, 12, 10, 18, 0, 0, 0, time.UTC), "expires today (2026-12-10)"},
		{time.Date(2026, 12, 11, 0, 1, 0, 0, time.UTC), "expired on 2026-12-10"},
	} {
		tok := &tokenstore.Token{Status: tokenstore.StatusNew, Settings: tokenstore.Settings{SecretExpiresOn: expires}}
		h := Of(tok, nil, c.now)
		if len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], c.want) {
			t.Errorf("at %s: %q, want %q", c.now, h.Warnings, c.want)
		}
	}
}

// The mail side: a task whose logins fail turns a token the provider
// serves into a problem that names the server, the mailbox and the reply;
// a task without reports is silent; a stopped one is neither.
func TestMailSide(t *testing.T) {
	tok := &tokenstore.Token{Status: tokenstore.StatusValid, Expiry: now.Add(2 * time.Hour), HasRefreshToken: true,
		Settings: tokenstore.Settings{Config: provider.Config{Type: provider.Microsoft}}}
	ok := tokenstore.TaskUse{Actor: tokenstore.ActorEvmail, Task: "/etc/mailtokens/in.properties", Host: "app1",
		PollEvery: time.Minute, LastSeen: now.Add(-time.Minute), LastOK: now.Add(-time.Minute)}
	failing := tokenstore.TaskUse{Actor: tokenstore.ActorBatchmail, Task: "/etc/mailtokens/out.properties", Host: "app1",
		Server: "SMTP smtp.office365.com:587", User: "support@contoso.com", PollEvery: 5 * time.Second,
		LastSeen: now.Add(-10 * time.Second), LastFailure: now.Add(-10 * time.Second), FailingSince: now.Add(-20 * time.Minute),
		LastReply: "535 5.7.3 Authentication unsuccessful"}
	silent := ok
	silent.Task, silent.LastSeen = "/etc/mailtokens/quiet.properties", now.Add(-SilentAfter(time.Minute)-time.Second)
	stopped := silent
	stopped.Task, stopped.StoppedAt = "/etc/mailtokens/stopped.properties", silent.LastSeen

	r := Of(tok, []tokenstore.TaskUse{ok, stopped}, now)
	if r.Level != OK || r.Failing != 0 || len(r.Warnings) != 0 || r.Tasks[0].State != TaskOK || r.Tasks[1].State != TaskStopped {
		t.Fatalf("healthy tasks: %+v", r)
	}
	r = Of(tok, []tokenstore.TaskUse{ok, failing, silent}, now)
	if r.Level != Problem || r.Status != "mail server refuses it" || r.Failing != 1 {
		t.Fatalf("a failing task: %q level %v failing %d", r.Status, r.Level, r.Failing)
	}
	for _, want := range []string{"Valid at Microsoft", "SMTP smtp.office365.com:587", "support@contoso.com",
		"535 5.7.3 Authentication unsuccessful", "1 task failing since 11:40 UTC", "Full Access"} {
		if !strings.Contains(r.Detail, want) {
			t.Errorf("detail %q lacks %q", r.Detail, want)
		}
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "quiet.properties") || r.Tasks[2].State != TaskSilent {
		t.Fatalf("silent task: warnings %q, state %s", r.Warnings, r.Tasks[2].State)
	}
	// A task run with -once stops after each pass: its last failure counts
	// for a day, then it is just stopped.
	once := failing
	once.StoppedAt = now.Add(-time.Hour)
	if r := Task(once, now); r.State != TaskFailing || !strings.Contains(r.Words, "stopped") {
		t.Fatalf("a -once task that failed an hour ago: %s %q", r.State, r.Words)
	}
	once.StoppedAt = now.Add(-stoppedFailingFor - time.Minute)
	if r := Task(once, now); r.State != TaskStopped {
		t.Fatalf("a -once task that failed a day ago: %s", r.State)
	}
	// Needing authorization is the provider side's problem; the mail side
	// does not hide it.
	parked := *tok
	parked.Status = tokenstore.StatusNeedsAuthorization
	if r := Of(&parked, []tokenstore.TaskUse{failing}, now); r.Status != "needs authorization" {
		t.Fatalf("needs authorization with a failing task: %q", r.Status)
	}
}

// A certificate credential is watched like the client secret: its
// notAfter, 30 days ahead, and what to do about it.
func TestCertificateExpiryWarns(t *testing.T) {
	tok := &tokenstore.Token{Status: tokenstore.StatusValid, Expiry: now.Add(time.Hour), HasClientKey: true,
		Settings: tokenstore.Settings{Config: provider.Config{Type: provider.Microsoft, ClientAuth: provider.ClientAuthPrivateKeyJWT},
			KeyExpiresOn: now.AddDate(0, 0, 20)}}
	h := Of(tok, nil, now)
	if len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "certificate expires in 20 days") ||
		!strings.Contains(h.Warnings[0], "Certificates & secrets") {
		t.Fatalf("warnings: %q", h.Warnings)
	}
	tok.KeyExpiresOn = now.AddDate(0, 0, 45)
	if h := Of(tok, nil, now); len(h.Warnings) != 0 {
		t.Fatalf("45 days ahead: %q", h.Warnings)
	}
}
