package form

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"mailtokens/internal/fielderr"
	"mailtokens/internal/mailserver"
)

// ConnTest is the Test form: which server to log in to with the token.
type ConnTest struct {
	Protocol mailserver.Protocol
	Server   string // host:port
	Security mailserver.Security
	User     string // the mailbox; may differ from the token's account (shared mailbox)
	// Task is the task file whose CA to trust (and whose server the form
	// was filled from); "" = entered by hand.
	Task string
}

// Defaults for the Test form per provider type.
func DefaultConnTest(typ, email string) ConnTest {
	c := ConnTest{Protocol: mailserver.IMAP, Security: mailserver.SSL, User: email}
	switch typ {
	case "google":
		c.Server = "imap.gmail.com:993"
	case "microsoft":
		c.Server = "outlook.office365.com:993"
	}
	return c
}

// The Test form's inputs, and the identifiers of problems with them.
const (
	fieldProtocol = "protocol"
	fieldServer   = "server"
	fieldSecurity = "security"
	fieldUser     = "user"
	// FieldTask is the task file to test for; problems reading it carry it.
	FieldTask = "task"
)

// ReadConnTest reads the Test form.
func ReadConnTest(v url.Values) ConnTest {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return ConnTest{Protocol: mailserver.Protocol(strings.ToUpper(get(fieldProtocol))), Server: get(fieldServer),
		Security: mailserver.Security(strings.ToUpper(get(fieldSecurity))), User: get(fieldUser), Task: get(FieldTask)}
}

// Check returns the host and port, or the problems.
func (c ConnTest) Check() (host string, port int, errs fielderr.List) {
	if !c.Protocol.Valid() {
		errs.Add(fieldProtocol, "must be IMAP, POP3 or SMTP")
	}
	if !c.Security.Valid() {
		errs.Add(fieldSecurity, "must be SSL, STARTTLS or NONE")
	}
	h, p, err := net.SplitHostPort(c.Server)
	n, perr := strconv.Atoi(p)
	switch {
	case c.Server == "":
		errs.Add(fieldServer, "is required, as host:port (e.g. outlook.office365.com:993)")
	case err != nil || h == "" || perr != nil || n < 1 || n > 65535:
		errs.Add(fieldServer, fmt.Sprintf("%q is not host:port (e.g. outlook.office365.com:993)", c.Server))
	}
	if c.User == "" {
		errs.Add(fieldUser, "is required: the mailbox to log in to")
	}
	return h, n, errs
}
