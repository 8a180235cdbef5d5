package imapd

import (
	"errors"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

// dialect is how one service words its IMAP answers. Clients are tested
// against both, so the differences are kept side by side here.
type dialect struct {
	// mechanisms are offered as AUTH= capabilities, in the service's order.
	mechanisms []string
	// tokenRefused is what the XOAUTH2 / OAUTHBEARER authenticator returns
	// for a refused token: an *oauthsasl.Failure makes the mechanism send
	// it as a challenge first (Gmail); an *imap.Error ends the exchange at
	// once (Exchange).
	tokenRefused func(mech string, r *mailauth.Rejected) error
	// authFailed ends a refused AUTHENTICATE (after the failure challenge,
	// if any); loginFailed a refused LOGIN command.
	authFailed, loginFailed *imap.Error
	// malformed answers a SASL message that does not parse.
	malformed *imap.Error
	// equalsMalformed: "=" answering a challenge gets malformed, instead
	// of being taken for the empty answer as go-imap's server does (see
	// mailauth.AnswerWatch).
	equalsMalformed bool
	// noMechanism answers AUTHENTICATE with a mechanism not offered.
	noMechanism *imap.Error
}

var dialects = map[provider.Type]*dialect{
	provider.Microsoft: exchange,
	provider.Google:    gmail,
}

// exchange is Exchange Online (outlook.office365.com). It offers no
// OAUTHBEARER and never explains a refusal: a bad token, a missing scope, a
// mailbox the token's user has no access to and a wrong password all get
// the same bare line, without a JSON challenge.
var exchange = &dialect{
	mechanisms: []string{"PLAIN", oauthsasl.XOAUTH2},
	tokenRefused: func(string, *mailauth.Rejected) error {
		return exchangeAuthFailed
	},
	authFailed:  exchangeAuthFailed,
	loginFailed: &imap.Error{Type: imap.StatusResponseTypeNo, Text: "LOGIN failed."},
	// Not confirmed against the real service: a malformed message is
	// taken to get the same bare refusal, and an unknown mechanism
	// Exchange's generic "Command Argument Error" BAD.
	malformed:   exchangeAuthFailed,
	noMechanism: &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Command Argument Error. 12"},
}

var exchangeAuthFailed = &imap.Error{Type: imap.StatusResponseTypeNo, Text: "AUTHENTICATE failed."}

// gmail is Gmail (imap.gmail.com). A refused token gets a JSON challenge
// that the client must answer before the tagged NO comes.
var gmail = &dialect{
	mechanisms:   []string{oauthsasl.XOAUTH2, "PLAIN", oauthsasl.OAUTHBEARER},
	tokenRefused: mailauth.GmailFailure,
	authFailed:   gmailInvalidCredentials,
	loginFailed:  gmailInvalidCredentials,
	malformed:    &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Invalid SASL argument."},
	// Gmail's answer to "=" after a challenge is not confirmed; that it
	// refuses SASL data it cannot read with the line above is (users'
	// transcripts of double-encoded responses, with a session id after
	// the period).
	equalsMalformed: true,
	noMechanism:     &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unsupported AUTHENTICATE mechanism."},
}

var gmailInvalidCredentials = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeAuthenticationFailed,
	Text: "Invalid credentials (Failure)",
}

// saslError turns the error a SASL exchange ended with into the service's
// answer. go-imap/v2 answers anything that is not an *imap.Error with "NO
// [SERVERBUG] Internal server error", so every path must end in one.
func (d *dialect) saslError(err error) error {
	var ie *imap.Error
	switch {
	case errors.Is(err, oauthsasl.ErrAuthFailed):
		return d.authFailed
	case errors.As(err, &ie):
		return ie // already the answer (Exchange's bare refusal)
	default:
		// oauthsasl's ErrMalformed, or go-sasl's PLAIN server's "invalid
		// response".
		return d.malformed
	}
}
