package taskconf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/mailserver"
)

func TestNotifyGood(t *testing.T) {
	pager := filepath.Join(t.TempDir(), "pager")
	os.WriteFile(pager, []byte("#!/bin/sh\n"), 0o755)
	c, _, err := LoadEvadmin(write(t, `NOTIFY_EMAIL_TO = ops@contoso.com, it@contoso.com
NOTIFY_SMTP_HOST = smtp.office365.com
NOTIFY_SMTP_USER = mailtokens@contoso.com
NOTIFY_SMTP_AUTH_TYPE = OAUTH2
NOTIFY_SMTP_TOKEN_NAME = notify
NOTIFY_COMMAND = `+pager+` --team "mail ops"
NOTIFY_WEBHOOK_URL = https://chat.contoso.com/hooks/x
NOTIFY_MAIL_GRACE = 30m
`))
	if err != nil {
		t.Fatal(err)
	}
	n := c.Notify
	if !slices.Equal(n.EmailTo, []string{"ops@contoso.com", "it@contoso.com"}) || n.EmailFrom != "mailtokens@contoso.com" ||
		n.SMTP.Port != 587 || n.SMTP.Security != mailserver.STARTTLS || n.SMTP.AuthType != OAuth2 || n.SMTP.TokenName != "notify" ||
		!slices.Equal(n.Command, []string{pager, "--team", "mail ops"}) || n.WebhookURL != "https://chat.contoso.com/hooks/x" ||
		n.MailGrace != 30*time.Minute || !n.Enabled() {
		t.Fatalf("notify settings wrong: %+v", n)
	}

	c, _, err = LoadEvadmin(write(t, "NOTIFY_EMAIL_TO = ops@contoso.com\nNOTIFY_EMAIL_FROM = evadmin@contoso.com\nNOTIFY_SMTP_HOST = relay.contoso.com\nNOTIFY_SMTP_PORT = 25\nNOTIFY_SMTP_AUTH_TYPE = none\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Notify.SMTP.AuthType != NoLogin || c.Notify.SMTP.Port != 25 || c.Notify.EmailFrom != "evadmin@contoso.com" {
		t.Fatalf("relay settings wrong: %+v", c.Notify)
	}

	c, _, err = LoadEvadmin(write(t, "LISTEN = 127.0.0.1:8080\n"))
	if err != nil || c.Notify.Enabled() || c.Notify.MailGrace != DefaultMailGrace {
		t.Fatalf("defaults: %+v, %v", c.Notify, err)
	}
}

func TestNotifyProblems(t *testing.T) {
	got := problemsOf(t, loadEvadmin, `NOTIFY_SMTP_HOST = smtp.office365.com
NOTIFY_SMTP_AUTH_TYPE = PASSWORD
NOTIFY_SMTP_USER = mailtokens
NOTIFY_COMMAND = /nonexistent/pager
NOTIFY_WEBHOOK_URL = chat.contoso.com/hooks/x
NOTIFY_MAIL_GRACE = 15
NOTIFY_EMAIL = ops@contoso.com
`)
	for _, w := range []string{
		`: NOTIFY_EMAIL_TO: missing: NOTIFY_SMTP_HOST is set; list the admins' addresses, separated by commas`,
		`: NOTIFY_SMTP_PASSWORD: is empty but NOTIFY_SMTP_AUTH_TYPE is PASSWORD: set the password, or set NOTIFY_SMTP_AUTH_TYPE = OAUTH2 and NOTIFY_SMTP_TOKEN_NAME`,
		`: NOTIFY_EMAIL_FROM: missing: set the sender's address (NOTIFY_SMTP_USER is not one)`,
		`:4: NOTIFY_COMMAND: /nonexistent/pager is not a program that can be run (stat /nonexistent/pager: no such file or directory): give the path of an executable file`,
		`:5: NOTIFY_WEBHOOK_URL: "chat.contoso.com/hooks/x" is not an absolute http(s) URL like https://chat.contoso.com/hooks/mail`,
		`:6: NOTIFY_MAIL_GRACE: "15" is not a duration: write it with a unit, like 30s, 5m or 1h`,
		`:7: NOTIFY_EMAIL: unknown key: did you mean NOTIFY_EMAIL_TO?`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing problem %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
}
