package taskconf

import (
	"errors"
	"os/exec"
	"strings"
	"time"

	"mailtokens/internal/mailserver"
)

// After is what evmail does to a message on the server once delivered.
type After string

// The after-delivery actions.
const (
	AfterSeen   After = "SEEN"   // IMAP: set \Seen
	AfterMove   After = "MOVE"   // IMAP: move to MoveTo
	AfterDelete After = "DELETE" // IMAP: \Deleted + expunge; POP3: DELE
	AfterKeep   After = "KEEP"   // POP3: leave it; UIDL state prevents re-delivery
)

// Delivery is where evmail puts messages.
type Delivery struct {
	Maildir string   // maildir:<dir>
	Command []string // command:<program args>; the message on stdin
}

// String is the delivery as written in the file.
func (d Delivery) String() string {
	if d.Maildir != "" {
		return "maildir:" + d.Maildir
	}
	return "command:" + strings.Join(d.Command, " ")
}

// Evmail is one inbound task: one mailbox.
type Evmail struct {
	Worker // Server.Protocol is IMAP, POP3 or GRAPH
	// APIURL is the web API's address (MAILBOX_GRAPH_URL,
	// MAILBOX_GMAIL_API_URL) when the protocol is GRAPH or GMAIL_API.
	APIURL        string
	Folder        string
	PollInterval  time.Duration
	AfterDelivery After
	MoveTo        string
	DeliverTo     Delivery
	// MaxMessageSize is the largest message evmail receives, in bytes as
	// the server counts them (CRLF line ends); larger ones are left on the
	// server and logged. 0 means no limit.
	MaxMessageSize int64
}

// DefaultMaxMessageSize is MAILBOX_MAX_MESSAGE_SIZE when it is not set.
const DefaultMaxMessageSize = 100 << 20

var mailboxPorts = map[mailserver.Protocol]map[mailserver.Security]int{
	mailserver.IMAP: {mailserver.SSL: 993, mailserver.STARTTLS: 143, mailserver.NONE: 143},
	mailserver.POP3: {mailserver.SSL: 995, mailserver.STARTTLS: 110, mailserver.NONE: 110},
}

// LoadEvmail reads an evmail task file.
func LoadEvmail(path string) (cfg *Evmail, warnings []string, err error) {
	f, err := Load(path)
	if err != nil {
		return nil, nil, err
	}
	cfg = ReadEvmail(f)
	return cfg, f.Warnings, f.Err()
}

// ReadEvmail reads evmail's keys from a loaded file; problems go to f.
func ReadEvmail(f *File) *Evmail {
	protocol := mailserver.Protocol(f.RequiredEnum("MAILBOX_PROTOCOL", string(mailserver.IMAP), string(mailserver.POP3),
		string(mailserver.GRAPH), string(mailserver.GMAILAPI)))
	ports := mailboxPorts[protocol]
	if ports == nil {
		ports = mailboxPorts[mailserver.IMAP]
	}
	c := &Evmail{}
	if protocol == mailserver.GRAPH || protocol == mailserver.GMAILAPI {
		c.Worker, c.APIURL = readWebAPI(f, "MAILBOX", "MAILBOX_EMAIL_TOKEN_NAME", protocol)
	} else {
		c.Worker = readWorker(f, "MAILBOX", "MAILBOX_EMAIL_TOKEN_NAME", protocol, mailserver.SSL, ports)
		ignoreWebAPIKeys(f, "MAILBOX", protocol)
	}
	c.Folder = f.String("MAILBOX_FOLDER", "INBOX")
	if c.Protocol == mailserver.POP3 && f.Has("MAILBOX_FOLDER") && c.Folder != "INBOX" {
		f.warn("MAILBOX_FOLDER", "is ignored for POP3, which has only the inbox")
	}
	c.PollInterval = f.Duration("MAILBOX_POLL_INTERVAL", 60*time.Second, time.Second)

	switch c.Protocol {
	case mailserver.POP3:
		c.AfterDelivery = After(f.Enum("MAILBOX_AFTER_DELIVERY", string(AfterDelete), string(AfterDelete), string(AfterKeep)))
	default:
		c.AfterDelivery = After(f.Enum("MAILBOX_AFTER_DELIVERY", string(AfterSeen), string(AfterSeen), string(AfterMove), string(AfterDelete)))
	}
	c.MoveTo = f.String("MAILBOX_MOVE_TO", "")
	if c.AfterDelivery == AfterMove && c.MoveTo == "" {
		f.problem("MAILBOX_MOVE_TO", "is required with MAILBOX_AFTER_DELIVERY = MOVE: name the folder to move delivered mail to, e.g. Processed")
	}
	if c.AfterDelivery != AfterMove && c.MoveTo != "" {
		f.warn("MAILBOX_MOVE_TO", "is ignored because MAILBOX_AFTER_DELIVERY is %s", c.AfterDelivery)
	}
	if c.AfterDelivery == AfterMove && strings.EqualFold(c.MoveTo, c.Folder) {
		f.problem("MAILBOX_MOVE_TO", "is the folder being read (%s): messages would come back forever; name another folder", c.Folder)
	}

	c.MaxMessageSize = f.Size("MAILBOX_MAX_MESSAGE_SIZE", DefaultMaxMessageSize)

	dest := f.String("MAILBOX_DELIVER_TO", "maildir:data/inbox")
	switch {
	case strings.HasPrefix(dest, "maildir:"):
		c.DeliverTo.Maildir = strings.TrimSpace(strings.TrimPrefix(dest, "maildir:"))
		if c.DeliverTo.Maildir == "" {
			f.problem("MAILBOX_DELIVER_TO", "maildir: needs a directory, e.g. maildir:data/inbox")
		}
	case strings.HasPrefix(dest, "command:"):
		argv, err := SplitCommand(strings.TrimPrefix(dest, "command:"))
		if err != nil {
			f.problem("MAILBOX_DELIVER_TO", "%v", err)
		} else if len(argv) == 0 {
			f.problem("MAILBOX_DELIVER_TO", "command: needs a program, e.g. command:/usr/local/bin/import-mail --queue support")
		} else if _, err := exec.LookPath(argv[0]); err != nil {
			// Said at start-up, not at the first message.
			f.problem("MAILBOX_DELIVER_TO", "%s is not a program that can be run (%v): give the path of an executable file", argv[0], errors.Unwrap(err))
		}
		c.DeliverTo.Command = argv
	default:
		f.problem("MAILBOX_DELIVER_TO", "%q: use maildir:<dir> or command:<program args>", dest)
	}
	return c
}
