package taskconf

import (
	"errors"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"mailtokens/internal/mailserver"
)

// NoLogin is NOTIFY_SMTP_AUTH_TYPE = NONE: a relay that takes mail from
// evadmin's host without AUTH. Workers always log in.
const NoLogin AuthType = "NONE"

// Notify is how evadmin tells admins about tokens that need a person:
// email through an SMTP account of its own, a command, a webhook. Each
// channel is off while its keys are unset.
type Notify struct {
	// EmailTo are the admins' addresses (NOTIFY_EMAIL_TO); none = no email.
	EmailTo []string
	// EmailFrom is the sender (NOTIFY_EMAIL_FROM; default NOTIFY_SMTP_USER).
	EmailFrom string
	// SMTP is the server and login (NOTIFY_SMTP_HOST, _PORT, _SECURITY,
	// _TLS_CA_FILE, _USER, _AUTH_TYPE, _PASSWORD, NOTIFY_SMTP_TOKEN_NAME),
	// read as batchmail reads its MAIL_* keys; AuthType may also be NoLogin.
	SMTP Worker
	// Command runs with the notification's JSON on stdin (NOTIFY_COMMAND).
	Command []string
	// WebhookURL gets the JSON in a POST (NOTIFY_WEBHOOK_URL).
	WebhookURL string
	// MailGrace is how long a task's logins may fail before admins are
	// told (NOTIFY_MAIL_GRACE, default 15m).
	MailGrace time.Duration
}

// Enabled reports whether any channel is set.
func (n *Notify) Enabled() bool {
	return len(n.EmailTo) > 0 || len(n.Command) > 0 || n.WebhookURL != ""
}

// DefaultMailGrace is NOTIFY_MAIL_GRACE when it is not set.
const DefaultMailGrace = 15 * time.Minute

func readNotify(f *File) Notify {
	var n Notify
	n.MailGrace = f.Duration("NOTIFY_MAIL_GRACE", DefaultMailGrace, time.Minute)

	to := f.String("NOTIFY_EMAIL_TO", "")
	for _, a := range strings.Split(to, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !bareAddress(a) {
			f.problem("NOTIFY_EMAIL_TO", "%q is not a bare email address: list addresses separated by commas, without names or <>", a)
			continue
		}
		n.EmailTo = append(n.EmailTo, a)
	}
	if to != "" || f.String("NOTIFY_SMTP_HOST", "") != "" {
		n.SMTP, n.EmailFrom = readNotifySMTP(f)
		if to == "" {
			f.problem("NOTIFY_EMAIL_TO", "missing: NOTIFY_SMTP_HOST is set; list the admins' addresses, separated by commas")
		}
	} else {
		for _, k := range []string{"NOTIFY_EMAIL_FROM", "NOTIFY_SMTP_PORT", "NOTIFY_SMTP_SECURITY", "NOTIFY_SMTP_TLS_CA_FILE",
			"NOTIFY_SMTP_USER", "NOTIFY_SMTP_AUTH_TYPE", "NOTIFY_SMTP_PASSWORD", "NOTIFY_SMTP_TOKEN_NAME"} {
			if f.String(k, "") != "" {
				f.warn(k, "is ignored because NOTIFY_EMAIL_TO and NOTIFY_SMTP_HOST are not set")
			}
		}
	}

	if cmd := f.String("NOTIFY_COMMAND", ""); cmd != "" {
		argv, err := SplitCommand(cmd)
		switch {
		case err != nil:
			f.problem("NOTIFY_COMMAND", "%v", err)
		case len(argv) == 0:
			f.problem("NOTIFY_COMMAND", "needs a program, e.g. /usr/local/bin/page-admins --team mail")
		default:
			if _, err := exec.LookPath(argv[0]); err != nil {
				f.problem("NOTIFY_COMMAND", "%s is not a program that can be run (%v): give the path of an executable file", argv[0], errors.Unwrap(err))
			}
			n.Command = argv
		}
	}
	if hook := f.String("NOTIFY_WEBHOOK_URL", ""); hook != "" {
		u, err := url.Parse(hook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			f.problem("NOTIFY_WEBHOOK_URL", "%q is not an absolute http(s) URL like https://chat.contoso.com/hooks/mail", hook)
		} else {
			n.WebhookURL = hook
			if u.Scheme == "http" && !isLoopback(u.Hostname()) {
				f.warn("NOTIFY_WEBHOOK_URL", "sends token names and problems in clear to %s: use https", u.Hostname())
			}
		}
	}
	return n
}

// readNotifySMTP reads the SMTP account with batchmail's rules (port from
// the security, STARTTLS on 587 by default), plus NONE for a relay.
func readNotifySMTP(f *File) (w Worker, from string) {
	const prefix, tokenKey = "NOTIFY_SMTP", "NOTIFY_SMTP_TOKEN_NAME"
	w.Server, w.CAFile = readServer(f, prefix, mailserver.SMTP, mailserver.STARTTLS, smtpPorts)
	w.TokenKey = tokenKey
	if raw, _ := f.raw(prefix + "_AUTH_TYPE"); strings.EqualFold(raw, string(NoLogin)) {
		w.Login = Login{AuthType: NoLogin, User: f.String(prefix+"_USER", "")}
		for _, k := range []string{prefix + "_PASSWORD", tokenKey} {
			if f.String(k, "") != "" {
				f.warn(k, "is ignored because %s_AUTH_TYPE is NONE", prefix)
			}
		}
	} else {
		w.Login = readLogin(f, prefix, tokenKey)
	}
	from = f.String("NOTIFY_EMAIL_FROM", "")
	if from == "" && bareAddress(w.User) {
		from = w.User
	}
	switch {
	case from == "":
		f.problem("NOTIFY_EMAIL_FROM", "missing: set the sender's address (NOTIFY_SMTP_USER is not one)")
	case !bareAddress(from):
		f.problem("NOTIFY_EMAIL_FROM", "%q is not a bare email address (write it without a name or <>)", from)
	}
	return w, from
}

func bareAddress(a string) bool {
	return strings.Contains(a, "@") && !strings.ContainsAny(a, " <>,;\t")
}
