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
	// Folder, for a web API (GRAPH, GMAIL_API), is the folder or label to
	// read; empty checks sending instead. Server is then the API's URL.
	Folder string
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
	fieldFolder   = "folder"
	// FieldTask is the task file to test for; problems reading it carry it.
	FieldTask = "task"
)

// ReadConnTest reads the Test form.
func ReadConnTest(v url.Values) ConnTest {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return ConnTest{Protocol: mailserver.Protocol(strings.ToUpper(get(fieldProtocol))), Server: get(fieldServer),
		Security: mailserver.Security(strings.ToUpper(get(fieldSecurity))), User: get(fieldUser), Task: get(FieldTask),
		Folder: get(fieldFolder)}
}

// Check returns the host and port, or the problems.
// WebAPI says whether the test is of a web API (Server is its URL).
func (c ConnTest) WebAPI() bool {
	return c.Protocol == mailserver.GRAPH || c.Protocol == mailserver.GMAILAPI
}

func (c ConnTest) Check() (host string, port int, errs fielderr.List) {
	if c.WebAPI() {
		u, err := url.Parse(c.Server)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
			errs.Add(fieldServer, fmt.Sprintf("%q is not the API's https:// address (e.g. https://graph.microsoft.com/v1.0, https://gmail.googleapis.com)", c.Server))
		}
		if c.User == "" {
			errs.Add(fieldUser, "is required: the mailbox")
		}
		return "", 0, errs
	}
	if !c.Protocol.Valid() {
		errs.Add(fieldProtocol, "must be IMAP, POP3, SMTP, GRAPH or GMAIL_API")
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

// loopback says whether host is this machine: plain http is allowed there
// (the sandbox).
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
