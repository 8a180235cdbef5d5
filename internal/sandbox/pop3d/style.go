package pop3d

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"unicode/utf16"

	"mailtokens/internal/provider"
)

// texts are what a style says. Where a text was seen in a session log or
// the provider's documentation the comment says "seen"; the others are
// plausible stand-ins, kept in one place so that they are easy to correct.
type texts struct {
	greeting func(remoteIP string) string
	// capaOK is the +OK line of CAPA; capa lists the capabilities in the
	// service's order, with the ones that depend on the connection
	// (USER and SASL before TLS is required, STLS) added by the session.
	capaOK string
	capa   []capability

	userOK      string
	passOK      string
	passFailed  string
	authOK      string
	authFailed  string
	continuePfx string // how an AUTH challenge line starts, before the base64
	// irOnAuthLine is the reply to an initial response on the AUTH line,
	// after which the connection is closed; "" means it is accepted.
	irOnAuthLine string
	// failureChallenge says whether a rejected token gets a JSON challenge
	// (answered by the client) before authFailed, as at Gmail.
	failureChallenge bool
	badSASL          string
	unknownMech      string
	authCancelled    string

	inUse          string
	wrongState     string
	unknownCommand string
	tlsRequired    string
	stlsOK         string
	lineTooLong    string

	stat           func(count int, size int64) string
	listOK         func(count int, size int64) string
	uidlOK         string
	retrOK         string
	noSuchMessage  func(n int) string
	alreadyDeleted func(n int) string
	deleOK         func(n int) string
	okay           string // NOOP, RSET
	quit           string
}

// capability is a CAPA line and when it is shown.
type capability struct {
	line string
	// login lines (USER, SASL) are left out while STLS is required first,
	// as RFC 2595 servers do.
	login bool
	// stls is the STLS line, shown only on a plain connection that may be
	// upgraded.
	stls bool
}

// exchangeHost is the server name Exchange Online puts in its greeting,
// UTF-16LE and base64 encoded.
const exchangeHost = "SANDBOX01.CONTOSO.PROD.OUTLOOK.EXAMPLE"

// styles are the texts of each provider's service.
var styles = map[provider.Type]*texts{
	// Exchange Online (outlook.office365.com:995): XOAUTH2 only in two
	// steps, a bare "+" for the empty challenge, no failure challenge,
	// plain-text errors without response codes.
	provider.Microsoft: {
		// Seen: "+OK The Microsoft Exchange POP3 service is ready. [UwBDADEA...]".
		greeting: func(string) string {
			return "The Microsoft Exchange POP3 service is ready. [" + utf16Base64(exchangeHost) + "]"
		},
		// Seen at outlook.office365.com:995: "+OK" then TOP, UIDL,
		// SASL PLAIN XOAUTH2, USER. STLS (port 110) is a guess at the end.
		capaOK: "",
		capa: []capability{
			{line: "TOP"}, {line: "UIDL"}, {line: "SASL PLAIN XOAUTH2", login: true},
			{line: "USER", login: true}, {line: "STLS", stls: true},
		},
		userOK:     "",                                                           // seen (Exchange 2003 log)
		passOK:     "User successfully logged on.",                               // seen (Exchange 2003 log)
		passFailed: "Logon failure: unknown user name or bad password.",          // seen (quoted by Gmail's fetcher)
		authOK:     "User successfully authenticated.",                           // seen (Microsoft's OAuth POP documentation)
		authFailed: "Authentication failure: unknown user name or bad password.", // seen (same)
		// Seen: Microsoft's documentation shows "S: +" for the empty
		// challenge.
		continuePfx: "+",
		// Seen (getmail6 #256, Mew #224): Exchange Online refuses
		// "AUTH XOAUTH2 <base64>" on one line and drops the connection.
		irOnAuthLine:   "Protocol error. Connection is closed. 10",
		badSASL:        "Authentication failure: unknown user name or bad password.",
		unknownMech:    "Unrecognized authentication type.",
		authCancelled:  "Authentication cancelled.",
		inUse:          "[IN-USE] Do you have another POP session running?", // RFC 2449's example
		wrongState:     "Command is not valid in this state.",               // seen (fetchmail log)
		unknownCommand: "Protocol error.",
		tlsRequired:    "Command is not valid in this state.",
		stlsOK:         "Begin TLS negotiation.",
		lineTooLong:    "Protocol error. Connection is closed. 10",
		stat:           func(n int, size int64) string { return fmt.Sprintf("%d %d", n, size) },
		listOK:         func(n int, size int64) string { return fmt.Sprintf("%d %d", n, size) },
		uidlOK:         "",
		retrOK:         "",
		noSuchMessage:  func(int) string { return "The specified message is out of range." },
		alreadyDeleted: func(int) string { return "The specified message is out of range." },
		deleOK:         func(int) string { return "" },
		okay:           "",
		quit:           "Microsoft Exchange Server POP3 server signing off.",
	},
	// Gmail (pop.gmail.com:995): XOAUTH2 and OAUTHBEARER, the initial
	// response on the AUTH line or after "+ ", a JSON failure challenge
	// that must be answered before the final -ERR, and RFC 2449 response
	// codes.
	provider.Google: {
		// Seen: "+OK Gpop ready for requests from 95.86.241.51 n67mb28062338lja".
		greeting: func(ip string) string {
			return "Gpop ready for requests from " + ip + " " + randomTag()
		},
		// Seen at pop.gmail.com:995 (2017 and 2025 logs), in this order.
		// Gmail has no plain port, so STLS is the sandbox's addition.
		capaOK: "Capability list follows",
		capa: []capability{
			{line: "USER", login: true}, {line: "RESP-CODES"}, {line: "EXPIRE 0"},
			{line: "LOGIN-DELAY 300"}, {line: "TOP"}, {line: "UIDL"}, {line: "X-GOOGLE-RICO"},
			{line: "SASL PLAIN XOAUTH2 OAUTHBEARER", login: true}, {line: "STLS", stls: true},
		},
		userOK:     "send PASS",                                  // seen
		passOK:     "Welcome.",                                   // seen
		passFailed: "[AUTH] Username and password not accepted.", // seen
		authOK:     "Welcome.",                                   // seen (after AUTH XOAUTH2)
		// Not seen after a failure challenge; Gmail's text for a refused
		// password is the best guess.
		authFailed:       "[AUTH] Username and password not accepted.",
		continuePfx:      "+ ", // seen: "+ " then the base64
		irOnAuthLine:     "",   // seen: "AUTH XOAUTH2 <base64>" gets "+OK Welcome."
		failureChallenge: true,
		badSASL:          "[AUTH] Invalid SASL argument.",
		unknownMech:      "[AUTH] Unrecognized authentication type.",
		authCancelled:    "[AUTH] Authentication cancelled.",
		inUse:            "[IN-USE] Do you have another POP session running?",
		wrongState:       "bad command",
		unknownCommand:   "bad command",
		tlsRequired:      "[AUTH] TLS required.",
		stlsOK:           "Begin TLS negotiation.",
		lineTooLong:      "line too long",
		stat:             func(n int, size int64) string { return fmt.Sprintf("%d %d", n, size) },                  // seen
		listOK:           func(n int, size int64) string { return fmt.Sprintf("%d messages (%d bytes)", n, size) }, // seen
		uidlOK:           "",                                                                                       // seen
		retrOK:           "message follows",                                                                        // seen
		noSuchMessage:    func(int) string { return "no such message" },
		alreadyDeleted:   func(n int) string { return fmt.Sprintf("message %d already deleted", n) },
		deleOK:           func(int) string { return "marked for deletion" },
		okay:             "",          // seen (NOOP, RSET)
		quit:             "Farewell.", // seen
	},
}

// googleFailure is the failure challenge Gmail sends for a rejected XOAUTH2
// token, as seen in session logs (Google's documentation shows status 401
// and "bearer"; the servers send 400 and "Bearer").
var googleFailure = struct{ status, schemes, scope string }{"400", "Bearer", "https://mail.google.com/"}

func utf16Base64(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// randomTag is the session tag Gmail ends its greeting with
// ("n67mb28062338lja").
func randomTag() string {
	const digits = "0123456789"
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tag := []byte{letters[b[0]%26], digits[b[1]%10], digits[b[2]%10], 'm', 'b'}
	for _, c := range b[3:11] {
		tag = append(tag, digits[c%10])
	}
	for _, c := range b[11:14] {
		tag = append(tag, letters[c%26])
	}
	return string(tag)
}
