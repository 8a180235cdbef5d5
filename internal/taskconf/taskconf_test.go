package taskconf

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/mailserver"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "task.properties")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvmailGood(t *testing.T) {
	importer := filepath.Join(t.TempDir(), "importer")
	os.WriteFile(importer, []byte("#!/bin/sh\n"), 0o755)
	p := write(t, `# a comment
MAILBOX_PROTOCOL = pop3
MAILBOX_HOST = outlook.office365.com
MAILBOX_USER = shared@contoso.com
MAILBOX_AUTH_TYPE = OAUTH2
MAILBOX_EMAIL_TOKEN_NAME = Support mailbox
MAILBOX_POLL_INTERVAL = 2m
MAILBOX_MAX_MESSAGE_SIZE = 25 mb
MAILBOX_DELIVER_TO = command:`+importer+` --queue "support desk" 'a b'
TOKEN_STORE = /var/lib/mailtokens/tokens.db
`)
	c, warnings, err := LoadEvmail(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	want := Evmail{
		Worker: Worker{
			Store:  Store{Path: "/var/lib/mailtokens/tokens.db", KeyFile: "data/tokens.key"},
			Server: mailserver.Server{Protocol: mailserver.POP3, Host: "outlook.office365.com", Port: 995, Security: mailserver.SSL},
			Login:  Login{User: "shared@contoso.com", AuthType: OAuth2, TokenName: "Support mailbox"},
		},
		Folder: "INBOX", PollInterval: 2 * time.Minute, AfterDelivery: AfterDelete,
		DeliverTo: Delivery{Command: []string{importer, "--queue", "support desk", "a b"}},
	}
	if c.Store != want.Store || c.Protocol != want.Protocol || c.Server != want.Server || c.CAFile != want.CAFile || c.Login.User != want.User ||
		c.AuthType != want.AuthType || c.TokenName != want.TokenName || c.Folder != want.Folder ||
		c.PollInterval != want.PollInterval || c.AfterDelivery != want.AfterDelivery || c.MaxMessageSize != 25<<20 ||
		!slices.Equal(c.DeliverTo.Command, want.DeliverTo.Command) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestEvmailDefaults(t *testing.T) {
	p := write(t, "MAILBOX_PROTOCOL=IMAP\nMAILBOX_HOST=127.0.0.1\nMAILBOX_USER=u\nMAILBOX_PASSWORD= pass word \nMAILBOX_SECURITY=starttls\n")
	c, _, err := LoadEvmail(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 143 || c.Security != mailserver.STARTTLS || c.AuthType != Password || c.Password.Reveal() != "pass word " ||
		c.AfterDelivery != AfterSeen || c.DeliverTo.Maildir != "data/inbox" || c.PollInterval != time.Minute ||
		c.MaxMessageSize != 100<<20 {
		t.Fatalf("defaults wrong: %+v", c)
	}
}

// problemsOf loads a file and returns its problems as "line key: message".
func problemsOf(t *testing.T, load func(string) error, text string) []string {
	t.Helper()
	err := load(write(t, text))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	var out []string
	for _, p := range ps {
		if !strings.HasSuffix(p.File, "task.properties") {
			t.Fatalf("problem without the file name: %v", p)
		}
		out = append(out, p.String()[strings.LastIndex(p.String(), "task.properties")+len("task.properties"):])
	}
	return out
}

func loadEvmail(p string) error    { _, _, err := LoadEvmail(p); return err }
func loadBatchmail(p string) error { _, _, err := LoadBatchmail(p); return err }
func loadEvadmin(p string) error   { _, _, err := LoadEvadmin(p); return err }

func TestEvmailEveryProblemAtOnce(t *testing.T) {
	got := problemsOf(t, loadEvmail, `MAILBOX_PROTOCOL = IMAP4
MAILBOX_HOST = outlook.office365.com
MAILBOX_PORT = 99999
MAILBOX_SECURITY = TLS
MAILBOX_AUTH_TYPE = PASSWORD
MAILBOX_POLL_INTERVAL = 60
MAILBOX_AFTER_DELIVERY = MOVE
MAILBOX_DELIVER_TO = mbox:/var/mail/x
MAILBOX_TOKEN_NAME = support
MAILBOX_HOST = imaps://outlook.office365.com
MAILBOX_MAX_MESSAGE_SIZE = 100 M
`)
	want := []string{
		`:1: MAILBOX_PROTOCOL: "IMAP4" is not allowed: use IMAP, POP3, GRAPH or GMAIL_API`,
		`:10: MAILBOX_HOST: "imaps://outlook.office365.com" is not a host name or IP address (no scheme, no port: put the port in MAILBOX_PORT)`,
		`:3: MAILBOX_PORT: "99999" is not a whole number from 1 to 65535`,
		`:4: MAILBOX_SECURITY: "TLS" is not allowed: use SSL, STARTTLS or NONE`,
		`:6: MAILBOX_POLL_INTERVAL: "60" is not a duration: write it with a unit, like 30s, 5m or 1h`,
		`:8: MAILBOX_DELIVER_TO: "mbox:/var/mail/x": use maildir:<dir> or command:<program args>`,
		`:9: MAILBOX_TOKEN_NAME: unknown key: did you mean MAILBOX_EMAIL_TOKEN_NAME?`,
		`:10: MAILBOX_HOST: set twice (also on line 2): keep one`,
		`:11: MAILBOX_MAX_MESSAGE_SIZE: "100 M" is not a size: write a whole number of bytes, or one with KB, MB or GB, like 100MB (0 for no limit)`,
	}
	// Problems without a line (missing keys) come first.
	var missing []string
	for _, g := range got {
		if !strings.HasPrefix(g, ":") || strings.HasPrefix(g, ": ") {
			missing = append(missing, g)
		}
	}
	for _, w := range []string{
		": MAILBOX_USER: missing: set it to the mailbox's login, e.g. support@contoso.com",
		": MAILBOX_PASSWORD: is empty but MAILBOX_AUTH_TYPE is PASSWORD: set the password, or set MAILBOX_AUTH_TYPE = OAUTH2 and MAILBOX_EMAIL_TOKEN_NAME",
		": MAILBOX_MOVE_TO: is required with MAILBOX_AFTER_DELIVERY = MOVE: name the folder to move delivered mail to, e.g. Processed",
	} {
		if !slices.Contains(missing, w) {
			t.Errorf("missing problem %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing problem %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestUnknownKeySuggestion(t *testing.T) {
	got := problemsOf(t, loadBatchmail, "MAIL_HOST=smtp.office365.com\nMAIL_USER=a@b.c\nMAIL_AUTH_TYPE=OAUTH2\nMAIL_TOKN_NAME=x\nmail_from=a@b.c\nCOMPLETELY_ELSE=1\n")
	for _, w := range []string{
		":4: MAIL_TOKN_NAME: unknown key: did you mean MAIL_TOKEN_NAME?",
		":5: mail_from: unknown key: did you mean MAIL_FROM?",
		":6: COMPLETELY_ELSE: unknown key: remove it (see the commented example in conf/)",
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestNoExpansion(t *testing.T) {
	// magiconair/properties would expand ${HOME} from the environment and an
	// unknown ${x} to nothing; task files mean what they say.
	t.Setenv("MAILTOKENS_TEST_SECRET", "expanded")
	p := write(t, "MAIL_HOST=h\nMAIL_USER=u@x.y\nMAIL_PASSWORD=${MAILTOKENS_TEST_SECRET}\nMAIL_SPOOL_DIR=${nothing}/outbox\n")
	c, _, err := LoadBatchmail(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Password.Reveal() != "${MAILTOKENS_TEST_SECRET}" || c.SpoolDir != "${nothing}/outbox" {
		t.Fatalf("expanded: %q %q", c.Password.Reveal(), c.SpoolDir)
	}
}

func TestBatchmail(t *testing.T) {
	c, warnings, err := LoadBatchmail(write(t, "MAIL_HOST=smtp.example.com\nMAIL_SECURITY=NONE\nMAIL_USER=n@contoso.com\nMAIL_AUTH_TYPE=OAUTH2\nMAIL_PASSWORD=left over\nMAIL_RATE_PER_MINUTE=0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 25 || c.From != "n@contoso.com" || c.RatePerMinute != 0 || c.MaxPerConnection != 100 || c.SpoolDir != "data/outbox" ||
		!c.KeepSent || c.PollInterval != 5*time.Second {
		t.Fatalf("got %+v", c)
	}
	joined := strings.Join(warnings, "\n")
	if !strings.Contains(joined, "MAIL_SECURITY: NONE sends the login") || !strings.Contains(joined, "MAIL_PASSWORD: is ignored") {
		t.Fatalf("warnings: %s", joined)
	}
	c, _, err = LoadBatchmail(write(t, "MAIL_HOST=h\nMAIL_USER=u@x.y\nMAIL_PASSWORD=p\nMAIL_KEEP_SENT=no\nMAIL_POLL_INTERVAL=250ms\n"))
	if err != nil || c.KeepSent || c.PollInterval != 250*time.Millisecond {
		t.Fatalf("MAIL_KEEP_SENT=no, MAIL_POLL_INTERVAL=250ms: %+v %v", c, err)
	}
	got := problemsOf(t, loadBatchmail, "MAIL_HOST=h\nMAIL_USER=u@x.y\nMAIL_PASSWORD=p\nMAIL_FROM=Support <s@x.y>\nMAIL_MAX_PER_CONNECTION=0\nMAIL_KEEP_SENT=maybe\nMAIL_POLL_INTERVAL=5\n")
	for _, w := range []string{
		`:4: MAIL_FROM: "Support <s@x.y>" is not a bare email address (write it without a name or <>)`,
		`:5: MAIL_MAX_PER_CONNECTION: "0" is not a whole number from 1 to 1000000`,
		`:6: MAIL_KEEP_SENT: "maybe" is not allowed: use YES or NO`,
		`:7: MAIL_POLL_INTERVAL: "5" is not a duration: write it with a unit, like 30s, 5m or 1h`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestEvadmin(t *testing.T) {
	c, warnings, err := LoadEvadmin(write(t, "PUBLIC_URL = https://tokens.contoso.com/\n"))
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	if c.Listen != "127.0.0.1:8080" || c.RedirectURL() != "https://tokens.contoso.com/oauth2/callback" {
		t.Fatalf("got %+v", c)
	}
	got := problemsOf(t, loadEvadmin, "LISTEN=8080\nPUBLIC_URL=tokens.contoso.com\nTLS_CERT_FILE=/x.crt\n")
	for _, w := range []string{
		`:1: LISTEN: "8080" is not host:port (e.g. 127.0.0.1:8080)`,
		`:2: PUBLIC_URL: "tokens.contoso.com" is not an absolute http(s) URL like https://mailtokens.contoso.com`,
		`: TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
	_, warnings, _ = LoadEvadmin(write(t, "LISTEN=0.0.0.0:8080\nPUBLIC_URL=http://tokens.contoso.com\n"))
	if len(warnings) != 2 {
		t.Fatalf("want two warnings (no TLS beyond loopback; http redirect URI), got %v", warnings)
	}
}

func TestSyntaxErrorNamesFile(t *testing.T) {
	_, _, err := LoadEvmail(write(t, "KEY = \\u12G4\n"))
	if err == nil || !strings.Contains(err.Error(), "task.properties") {
		t.Fatalf("got %v", err)
	}
	_, _, err = LoadEvmail(filepath.Join(t.TempDir(), "absent.properties"))
	if err == nil || !strings.Contains(err.Error(), "absent.properties") {
		t.Fatalf("got %v", err)
	}
}

// TestExamplesDocumentEveryKey: every key a program reads appears in its
// example under conf/ (set, or commented out as "# KEY ="), and the
// examples use no key the program does not know.
func TestExamplesDocumentEveryKey(t *testing.T) {
	keyRE := regexp.MustCompile(`(?m)^#?\s*([A-Z][A-Z0-9_]+)\s*=`)
	for _, ex := range []struct {
		file string
		read func(*File)
	}{
		{"evadmin.properties", func(f *File) { ReadEvadmin(f) }},
		{"evmail.properties", func(f *File) { ReadEvmail(f) }},
		{"batchmail.properties", func(f *File) { ReadBatchmail(f) }},
	} {
		path := filepath.Join("..", "..", "conf", ex.file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		documented := map[string]bool{}
		for _, m := range keyRE.FindAllStringSubmatch(string(data), -1) {
			documented[m[1]] = true
		}
		f, err := Parse(path, data)
		if err != nil {
			t.Fatal(err)
		}
		ex.read(f)
		f.Err()
		for _, p := range f.problems {
			if strings.Contains(p.Message, "unknown key") || strings.Contains(p.Message, "set twice") {
				t.Errorf("%s: %s", ex.file, p)
			}
		}
		for k := range f.known {
			if !documented[k] {
				t.Errorf("%s does not document %s", ex.file, k)
			}
		}
		for k := range documented {
			if !f.known[k] {
				t.Errorf("%s documents %s, which the program does not read", ex.file, k)
			}
		}
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"prog", []string{"prog"}},
		{"  prog   a  b ", []string{"prog", "a", "b"}},
		{`prog "a b" 'c d' e\ f`, []string{"prog", "a b", "c d", "e f"}},
		{`prog "q\"x" 'it''s'`, []string{"prog", `q"x`, "its"}},
		{`prog ""`, []string{"prog", ""}},
		{``, nil},
	} {
		got, err := SplitCommand(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`prog "open`, `prog 'open`, `prog \`} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q) accepted", bad)
		}
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int64
		ok    bool
	}{
		{"0", 0, true}, {"1048576", 1 << 20, true}, {"100MB", 100 << 20, true}, {"100 mb", 100 << 20, true},
		{"512KB", 512 << 10, true}, {"2GB", 2 << 30, true}, {"10B", 10, true},
		{"-1", 0, false}, {"+5MB", 0, false}, {"1.5MB", 0, false}, {"MB", 0, false}, {"100 M", 0, false}, {"99999999999GB", 0, false},
	} {
		f, err := Load(write(t, "MAILBOX_MAX_MESSAGE_SIZE = "+tc.value+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		got := f.Size("MAILBOX_MAX_MESSAGE_SIZE", 7)
		if tc.ok && (got != tc.want || f.Err() != nil) {
			t.Errorf("Size(%q) = %d, %v; want %d", tc.value, got, f.Err(), tc.want)
		}
		if !tc.ok && (got != 7 || f.Err() == nil || !strings.Contains(f.Err().Error(), "task.properties:1: MAILBOX_MAX_MESSAGE_SIZE")) {
			t.Errorf("Size(%q) = %d, %v; want the default and a problem at line 1", tc.value, got, f.Err())
		}
	}
}

// Issue 15's task-file findings: bytes that are not UTF-8 are a problem at
// their line (the library replaced them silently); an invalid
// MAIL_AUTH_TYPE is one problem, not also "MAIL_PASSWORD is empty"; a key
// cut short is recognised.
func TestTaskFileMistakesSaidOnce(t *testing.T) {
	got := problemsOf(t, loadBatchmail, "MAIL_HOST=smtp.office365.com\nMAIL_USER=a@b.c\nMAIL_AUTH_TYPE=OAUTH\nMAIL_TOKEN=notify\nMAIL_FROM=caf\xe9@b.c\n")
	for _, w := range []string{
		`:3: MAIL_AUTH_TYPE: "OAUTH" is not allowed: use PASSWORD or OAUTH2`,
		":4: MAIL_TOKEN: unknown key: did you mean MAIL_TOKEN_NAME?",
		`:5: is not valid UTF-8: save the file as UTF-8 (an editor's "Latin-1" or "Windows-1252" changes accented letters)`,
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing problem %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
	for _, g := range got {
		if strings.Contains(g, "MAIL_PASSWORD") {
			t.Errorf("a misleading problem: %s", g)
		}
	}
}

// A delivery program that does not exist, or cannot be run, stops evmail
// at start-up with the file and line, not at the first message.
func TestDeliveryProgramCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "import.sh")
	os.WriteFile(notExec, []byte("#!/bin/sh\ncat >/dev/null\n"), 0o644)
	for _, prog := range []string{filepath.Join(dir, "missing"), notExec} {
		got := problemsOf(t, loadEvmail, "MAILBOX_PROTOCOL=IMAP\nMAILBOX_HOST=h.example\nMAILBOX_USER=u\nMAILBOX_PASSWORD=p\nMAILBOX_DELIVER_TO = command:"+prog+" --queue x\n")
		want := ":5: MAILBOX_DELIVER_TO: " + prog + " is not a program that can be run"
		if len(got) != 1 || !strings.HasPrefix(got[0], want) {
			t.Errorf("%s: %q, want %q…", prog, got, want)
		}
	}
	if _, _, err := LoadEvmail(write(t, "MAILBOX_PROTOCOL=IMAP\nMAILBOX_HOST=h.example\nMAILBOX_USER=u\nMAILBOX_PASSWORD=p\nMAILBOX_DELIVER_TO = command:cat\n")); err != nil {
		t.Errorf("a program on $PATH: %v", err)
	}
}

// TestBatchmailGraph: MAIL_PROTOCOL = GRAPH needs no mail server, only an
// OAUTH2 login; Graph's address defaults to the global cloud, must be
// https:// (http only on loopback), and the SMTP keys are ignored with a
// warning.
func TestBatchmailGraph(t *testing.T) {
	cfg, warnings, err := LoadBatchmail(write(t, "MAIL_PROTOCOL = GRAPH\nMAIL_USER = n@contoso.com\nMAIL_AUTH_TYPE = OAUTH2\nMAIL_TOKEN_NAME = graph\nMAIL_HOST = smtp.office365.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Protocol != "GRAPH" || cfg.APIURL != "https://graph.microsoft.com/v1.0" || cfg.Server.Addr() != "graph.microsoft.com:443" {
		t.Fatalf("protocol %s, URL %s, server %s", cfg.Protocol, cfg.APIURL, cfg.Server.Addr())
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "MAIL_HOST: is ignored because MAIL_PROTOCOL is GRAPH") {
		t.Fatalf("warnings %q", warnings)
	}
	cfg, _, err = LoadBatchmail(write(t, "MAIL_PROTOCOL = GRAPH\nMAIL_USER = n@contoso.com\nMAIL_AUTH_TYPE = OAUTH2\nMAIL_GRAPH_URL = http://127.0.0.1:8123/v1.0/\n"))
	if err != nil || cfg.APIURL != "http://127.0.0.1:8123/v1.0" || cfg.Server.Addr() != "127.0.0.1:8123" {
		t.Fatalf("loopback sandbox: %v %+v", err, cfg)
	}
	got := problemsOf(t, loadBatchmail, "MAIL_PROTOCOL = GRAPH\nMAIL_USER = n@contoso.com\nMAIL_PASSWORD = x\nMAIL_GRAPH_URL = http://graph.example.com/v1.0\n")
	want := []string{"MAIL_AUTH_TYPE: is PASSWORD, but MAIL_PROTOCOL = GRAPH needs OAUTH2", `MAIL_GRAPH_URL: "http://graph.example.com/v1.0" would send the token in clear`}
	if len(got) != len(want) {
		t.Fatalf("problems %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("problem %q lacks %q", got[i], want[i])
		}
	}
}
