package mailconn

import (
	"errors"
	"fmt"
	"net/textproto"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/advice"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/pop3"
)

// Stage is how far a connection got.
type Stage string

// The stages of a login.
const (
	StageToken   Stage = "token"   // getting the access token from the store
	StageConnect Stage = "connect" // TCP
	StageTLS     Stage = "tls"     // TLS or STARTTLS
	StageLogin   Stage = "login"   // authentication
)

// Error is a failed connection or login, with the server's own words.
type Error struct {
	Protocol mailserver.Protocol
	Server   string // host:port
	User     string
	Stage    Stage
	// Reply is what the server answered, e.g. "NO AUTHENTICATE failed." or
	// "535 5.7.139 Authentication unsuccessful, …".
	Reply string
	// Failure is the JSON a server sent as a SASL challenge (Gmail).
	Failure *oauthsasl.Failure
	// Rejected: the server refused the credentials (not a network or
	// protocol problem).
	Rejected bool
	// AfterRefresh: the token was refreshed once already and the server
	// still refused it — the problem is not the token's age.
	AfterRefresh bool
	// Temporary: waiting may help (network trouble, 4xx, server busy).
	Temporary bool
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Protocol, e.Server)
	switch e.Stage {
	case StageConnect:
		b.WriteString(": connect")
	case StageTLS:
		b.WriteString(": TLS")
	case StageToken:
		b.WriteString(": token")
	default:
		if e.User != "" {
			fmt.Fprintf(&b, ": login as %s", e.User)
		} else {
			b.WriteString(": login")
		}
	}
	switch {
	case e.Reply != "":
		fmt.Fprintf(&b, ": server said: %s", e.Reply)
	case e.Err != nil:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Advice says in plain words what to do about e, and who must act. For a
// failure to get the token it leaves both to the store's error.
func (e *Error) Advice() (string, advice.Kind) {
	if e.Stage == StageToken {
		return "", advice.Unknown
	}
	text := e.explain()
	switch {
	case e.Temporary:
		return text, advice.Temporary
	case text == "":
		return "", advice.Unknown
	}
	return text, advice.Misconfigured
}

func (e *Error) explain() string {
	reply := strings.ToLower(e.Reply)
	switch {
	case e.Stage == StageConnect:
		return fmt.Sprintf("Could not reach %s: check the host name and port, and that a firewall lets this machine connect.", e.Server)
	case e.Stage == StageTLS && strings.Contains(reply, "starttls"):
		return "The server does not offer STARTTLS on this port: use SSL (ports 993, 995, 465) or the port that offers STARTTLS (143, 110, 587)."
	case e.Stage == StageTLS:
		return fmt.Sprintf("The TLS handshake failed (%v): use SSL for ports 993, 995 and 465 and STARTTLS for 143, 110 and 587; a certificate error means the host name does not match the server's certificate or its CA is not trusted.", e.Err)
	case strings.Contains(reply, "5.7.139"):
		return "SMTP AUTH is disabled for this mailbox (535 5.7.139), which is Exchange Online's default: enable Authenticated SMTP for it in the Microsoft 365 admin center (Users › Active users › the mailbox › Mail › Manage email apps) or with Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false — and check the tenant-wide switch (Get-TransportConfig | fl SmtpClientAuthenticationDisabled)."
	case e.Failure != nil && e.Rejected:
		return fmt.Sprintf("The server refused the token (%s): the token needs the mail scope (Gmail: https://mail.google.com/), and the login user must be the token's own account; check that IMAP/POP is enabled in the mailbox's settings.", e.Failure.Error())
	case e.Rejected && e.AfterRefresh:
		return "The server refused a freshly refreshed token, so the token is fine but not allowed in: check the scope (Microsoft: IMAP.AccessAsUser.All, POP.AccessAsUser.All or SMTP.Send on https://outlook.office.com), that the signed-in account has Full Access to the mailbox when it is a shared one, and that the protocol is enabled for the mailbox (Set-CASMailbox -ImapEnabled / -PopEnabled $true). App-only tokens need the app's service principal registered in Exchange (New-ServicePrincipal) and given access (Add-MailboxPermission)."
	case e.Rejected:
		return "The server refused the login: check the user name and password (or the token's scope and mailbox access)."
	case e.Temporary:
		return "The server or the network had a temporary problem; the workers retry by themselves."
	}
	return ""
}

// temporary reports whether err, not yet one of ours, may go away by
// itself (network trouble, a busy server, a token refresh that will be
// retried).
func temporary(err error) bool {
	_, kind := advice.Of(err)
	return kind == advice.Temporary
}

// tokenError wraps a failure to get a token from the store.
func tokenError(s mailserver.Server, a Auth, err error) error {
	return &Error{Protocol: s.Protocol, Server: s.Addr(), User: a.User, Stage: StageToken,
		Temporary: temporary(err), Err: err}
}

// isRejection reports whether err is the server refusing the credentials
// in a way a fresh token may cure. SMTP AUTH being disabled is not such.
func isRejection(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Rejected && !strings.Contains(e.Reply, "5.7.139")
}

func replyOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reply
	}
	return ""
}

// loginError classifies an error from a protocol library's login.
func loginError(s mailserver.Server, user string, err error, failure *oauthsasl.Failure) *Error {
	e := &Error{Protocol: s.Protocol, Server: s.Addr(), User: user, Stage: StageLogin, Err: err, Failure: failure}
	var ie *imap.Error
	var te *textproto.Error
	var pe *pop3.Error
	switch {
	case errors.As(err, &ie):
		e.Reply = strings.TrimSpace(string(ie.Type) + " " + codeText(string(ie.Code)) + ie.Text)
		// After a failure challenge the login is refused whatever the
		// last word: go-imap answers the challenge with "=", which
		// Dovecot calls "BAD Invalid base64 data" instead of saying NO.
		e.Rejected = ie.Type == imap.StatusResponseTypeNo || failure != nil
		e.Temporary = ie.Code == imap.ResponseCodeUnavailable || ie.Code == imap.ResponseCodeInUse
		if e.Temporary {
			e.Rejected = false
		}
	case errors.As(err, &te):
		e.Reply = fmt.Sprintf("%d %s", te.Code, te.Msg)
		e.Rejected = te.Code == 535 || te.Code == 534
		e.Temporary = te.Code >= 400 && te.Code < 500
	case errors.As(err, &pe):
		e.Reply = pe.Error()
		e.Temporary = pe.Temporary()
		e.Rejected = !e.Temporary
	default:
		e.Temporary = temporary(err)
	}
	return e
}

func codeText(code string) string {
	if code == "" {
		return ""
	}
	return "[" + code + "] "
}
