package taskconf

import (
	"strings"
	"time"

	"mailtokens/internal/mailserver"
)

// Batchmail is the outbound worker's configuration.
type Batchmail struct {
	Worker
	// Protocol is SMTP (the default), GRAPH (Microsoft Graph's sendMail)
	// or GMAIL_API (the Gmail API's users.messages.send).
	Protocol mailserver.Protocol
	// APIURL is the web API's address (MAIL_GRAPH_URL, MAIL_GMAIL_API_URL)
	// when Protocol is one.
	APIURL           string
	From             string // envelope sender
	SpoolDir         string
	RatePerMinute    int // 0 = no limit
	MaxPerConnection int
	// KeepSent: a sent message is moved to sent/ (MAIL_KEEP_SENT = YES,
	// the default) or removed (NO).
	KeepSent bool
	// PollInterval is how often an idle worker looks for new messages.
	PollInterval time.Duration
}

var smtpPorts = map[mailserver.Security]int{mailserver.SSL: 465, mailserver.STARTTLS: 587, mailserver.NONE: 25}

// LoadBatchmail reads batchmail's properties.
func LoadBatchmail(path string) (cfg *Batchmail, warnings []string, err error) {
	f, err := Load(path)
	if err != nil {
		return nil, nil, err
	}
	cfg = ReadBatchmail(f)
	return cfg, f.Warnings, f.Err()
}

// ReadBatchmail reads batchmail's keys from a loaded file; problems go to f.
func ReadBatchmail(f *File) *Batchmail {
	c := &Batchmail{Protocol: mailserver.Protocol(f.Enum("MAIL_PROTOCOL", string(mailserver.SMTP), string(mailserver.SMTP),
		string(mailserver.GRAPH), string(mailserver.GMAILAPI)))}
	if c.Protocol == mailserver.GRAPH || c.Protocol == mailserver.GMAILAPI {
		c.Worker, c.APIURL = readWebAPI(f, "MAIL", "MAIL_TOKEN_NAME", c.Protocol)
		if f.Has("MAIL_MAX_PER_CONNECTION") {
			f.warn("MAIL_MAX_PER_CONNECTION", "is ignored because MAIL_PROTOCOL is %s (each message is a request of its own)", c.Protocol)
		}
	} else {
		c.Worker = readWorker(f, "MAIL", "MAIL_TOKEN_NAME", mailserver.SMTP, mailserver.STARTTLS, smtpPorts)
		ignoreWebAPIKeys(f, "MAIL", c.Protocol)
	}
	c.From = f.String("MAIL_FROM", c.User)
	if c.From != "" && (!strings.Contains(c.From, "@") || strings.ContainsAny(c.From, " <>,;\t")) {
		f.problem("MAIL_FROM", "%q is not a bare email address (write it without a name or <>)", c.From)
	}
	c.SpoolDir = f.String("MAIL_SPOOL_DIR", "data/outbox")
	c.RatePerMinute = f.Int("MAIL_RATE_PER_MINUTE", 30, 0, 100000)
	c.MaxPerConnection = f.Int("MAIL_MAX_PER_CONNECTION", 100, 1, 1000000)
	c.KeepSent = f.Enum("MAIL_KEEP_SENT", "YES", "YES", "NO") == "YES"
	c.PollInterval = f.Duration("MAIL_POLL_INTERVAL", 5*time.Second, 100*time.Millisecond)
	return c
}

// LoadSpoolDir reads only what `batchmail enqueue` needs, so a script can
// queue mail even while the rest of the file is being fixed.
func LoadSpoolDir(path string) (string, error) {
	f, err := Load(path)
	if err != nil {
		return "", err
	}
	return f.String("MAIL_SPOOL_DIR", "data/outbox"), nil
}
