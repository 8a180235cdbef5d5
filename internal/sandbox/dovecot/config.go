package dovecot

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
)

// Hostname is the name the instance gives itself (the hostname setting):
// submission uses it in the Received header it adds to relayed mail and in
// its greeting, so tests can expect a fixed value instead of the machine's
// name.
const Hostname = "dovecot.test"

// confParams fills dovecotConf. A port of 0 leaves the listener out.
type confParams struct {
	Instance                       string
	BaseDir, StateDir, LogFile     string
	MailRoot, OAuth2File, Passwd   string
	MailUser                       string
	MailUID                        int
	IMAP, IMAPS, POP3, POP3S       int
	Submission, Submissions        int
	TLS                            bool
	CertFile, KeyFile              string
	RelayHost                      string
	RelayPort                      int
	Debug                          bool
	Hostname                       string
	ProcessLimit, UserIPConnLimits int
	// Set by clientLimits for Options.Clients; 0 leaves Dovecot's default.
	ClientLimit, LoginProcesses int
	IdleCheckSecs               int
}

// clientLimits sizes the instance for clients simultaneous IMAP and POP3
// sessions (Options.Clients); 0 keeps the limits of ordinary tests.
//
//   - default_process_limit: the imap and pop3 services run one process
//     per session, so the limit is clients plus room for the logins under
//     way, doveadm and the submission service.
//   - the login services (imap-login and pop3-login alike, the template
//     loginLimits) in high-performance mode (service_count = 0):
//     LoginProcesses processes, each proxying up to client_limit sessions
//     (with TLS the login process carries a session's TLS for its whole
//     life). Their vsz_limit is raised for the TLS state of so many
//     sessions.
//   - default_client_limit: the log and anvil services take a connection
//     from every process, and auth one from every login process; Dovecot's
//     own default (1000) is too few for 1,000 sessions.
func (p *confParams) clientLimits(clients int) {
	if clients <= 0 {
		return
	}
	p.ProcessLimit = max(p.ProcessLimit, clients+100)
	p.ClientLimit = max(1000, 2*clients+200)
	p.LoginProcesses = 4
}

// dovecotConf is the whole configuration: nothing comes from /etc/dovecot,
// so the system's settings and services never leak in. Why each setting:
//
//   - base_dir, state_dir, instance_name, log paths: everything of the
//     instance stays in its directory, next to other instances and the
//     system's Dovecot. A fresh base_dir also matters for the auth penalty
//     (below): a leftover anvil socket would bring it back.
//   - listen = 127.0.0.1 and explicit ports: the built-in imaps and pop3s
//     listeners (993, 995) are switched off with port 0 unless TLS is on.
//   - auth_mechanisms: XOAUTH2 and OAUTHBEARER for the workers, PLAIN and
//     LOGIN for password users and for clients that send a token as the
//     password (the oauth2 passdb introspects it as a token).
//   - disable_plaintext_auth = no: loopback without TLS must accept PLAIN.
//   - auth_cache_size = 0: a revoked or expired token fails at the next
//     login instead of being answered from the cache.
//   - auth_failure_delay = 0 and the anvil-auth-penalty listener's mode 0:
//     without them a failed login costs 2 s and later logins from 127.0.0.1
//     wait 2, 4, 8, 15 s. login_trusted_networks does not lift it.
//   - mail_save_crlf = yes: messages are stored with CRLF, so what Mailbox
//     reads back is byte for byte what an IMAP client fetches.
//   - mail_uid/gid and first_valid_uid: the `dovecot` system user owns the
//     mail; its uid is below the default first_valid_uid of 500.
//   - the passwd-file passdb comes first and only for PLAIN and LOGIN: a
//     password user logs in with the password; anyone else (or a wrong
//     password) falls through to the oauth2 passdb.
//   - static userdb with allow_all_users: the oauth2 passdb cannot list
//     users, and doveadm save/fetch need any user to exist.
//   - special-use folders created on first use, as Gmail and Exchange have
//     them, so workers that append to Sent find it.
var dovecotConf = template.Must(template.New("dovecot.conf").Parse(`# Written by mailtokens/internal/sandbox/dovecot for one instance.
instance_name = {{.Instance}}
base_dir = {{.BaseDir}}
state_dir = {{.StateDir}}
log_path = {{.LogFile}}
info_log_path = {{.LogFile}}
debug_log_path = {{.LogFile}}
hostname = {{.Hostname}}
postmaster_address = postmaster@{{.Hostname}}
protocols = imap pop3 submission
listen = 127.0.0.1

{{if .TLS -}}
ssl = yes
ssl_cert = <{{.CertFile}}
ssl_key = <{{.KeyFile}}
{{- else -}}
ssl = no
{{- end}}
disable_plaintext_auth = no

auth_mechanisms = xoauth2 oauthbearer plain login
auth_cache_size = 0
auth_failure_delay = 0
auth_verbose = yes
{{- if .Debug}}
auth_debug = yes
mail_debug = yes
{{- end}}

default_process_limit = {{.ProcessLimit}}
{{- if .ClientLimit}}
default_client_limit = {{.ClientLimit}}
{{- end}}
mail_max_userip_connections = {{.UserIPConnLimits}}
{{- if .IdleCheckSecs}}
mailbox_idle_check_interval = {{.IdleCheckSecs}} secs
{{- end}}

first_valid_uid = {{.MailUID}}
mail_uid = {{.MailUser}}
mail_gid = {{.MailUser}}
mail_location = maildir:{{.MailRoot}}/%Lu
mail_save_crlf = yes

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
}

{{if .Passwd -}}
passdb {
  driver = passwd-file
  args = {{.Passwd}}
  mechanisms = plain login
}
{{end -}}
passdb {
  driver = oauth2
  args = {{.OAuth2File}}
}
userdb {
  driver = static
  args = home={{.MailRoot}}/%Lu allow_all_users=yes
}

service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
{{- template "loginLimits" .}}
  inet_listener imap {
    port = {{.IMAP}}
  }
  inet_listener imaps {
    port = {{.IMAPS}}
    ssl = yes
  }
}
service pop3-login {
{{- template "loginLimits" .}}
  inet_listener pop3 {
    port = {{.POP3}}
  }
  inet_listener pop3s {
    port = {{.POP3S}}
    ssl = yes
  }
}
service submission-login {
  inet_listener submission {
    port = {{.Submission}}
  }
  inet_listener submissions {
    port = {{.Submissions}}
    ssl = yes
  }
}
submission_relay_host = {{.RelayHost}}
submission_relay_port = {{.RelayPort}}
{{define "loginLimits"}}
{{- if .LoginProcesses}}
  service_count = 0
  process_limit = {{.LoginProcesses}}
  process_min_avail = {{.LoginProcesses}}
  client_limit = {{.ClientLimit}}
  vsz_limit = 2G
{{- end}}
{{- end}}`))

// oauth2Conf is the oauth2 passdb's file. With no tokeninfo_url the passdb
// goes straight to the introspection endpoint, so force_introspection has
// nothing to force. No scope is required: the tokens of both providers pass,
// and the sandbox's own servers check scopes.
var oauth2Conf = template.Must(template.New("oauth2.conf.ext").Parse(`# Written by mailtokens/internal/sandbox/dovecot.
introspection_mode = post
introspection_url = {{.URL}}
username_attribute = {{.UsernameAttribute}}
active_attribute = active
active_value = true
timeout_msecs = 10000
{{- if .Debug}}
debug = yes
{{- end}}
`))

func render(t *template.Template, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return b.Bytes(), nil
}

// passwdFile renders Options.Passwords for the passwd-file passdb. Dovecot
// looks users up lowercased; the password is stored base64-encoded
// ({PLAIN.b64}) so that no character of it can break the line format.
func passwdFile(passwords map[string]string) ([]byte, error) {
	lower := make(map[string]string, len(passwords))
	for u, pw := range passwords {
		if u == "" || strings.ContainsAny(u, ":\r\n\t ") {
			return nil, fmt.Errorf("password user %q: empty or holds a character passwd-file cannot store", u)
		}
		l := strings.ToLower(u)
		if _, dup := lower[l]; dup {
			return nil, fmt.Errorf("password user %q: given twice in different case", u)
		}
		lower[l] = pw
	}
	var b bytes.Buffer
	for _, u := range slices.Sorted(maps.Keys(lower)) {
		fmt.Fprintf(&b, "%s:{PLAIN.b64}%s\n", u, base64.StdEncoding.EncodeToString([]byte(lower[u])))
	}
	return b.Bytes(), nil
}
