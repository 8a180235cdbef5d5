package smtpd

import (
	"errors"

	"github.com/emersion/go-smtp"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

// dialect is how one service words its SMTP answers. Senders are tested
// against both, so the differences are kept side by side here.
type dialect struct {
	// domain names the server in its greeting.
	domain string
	// maxMessageBytes is the SIZE the service advertises.
	maxMessageBytes int64
	// mechanisms are offered in EHLO's AUTH line, in the service's order.
	mechanisms []string
	// tokenRefused is what the XOAUTH2 / OAUTHBEARER authenticator returns
	// for a refused token: an *oauthsasl.Failure makes the mechanism send
	// it as a 334 challenge first (Gmail); an *smtp.SMTPError ends the
	// exchange at once (Exchange).
	tokenRefused func(mech string, r *mailauth.Rejected) error
	// passwordRefused answers a refused LOGIN or PLAIN.
	passwordRefused func(r *mailauth.Rejected) *smtp.SMTPError
	// authFailed ends a token exchange after its failure challenge.
	authFailed *smtp.SMTPError
	// malformed answers a SASL message that does not parse.
	malformed *smtp.SMTPError
	// equalsMalformed: "=" answering a challenge gets malformed, instead
	// of being taken for the empty answer as go-smtp's server does (see
	// mailauth.AnswerWatch).
	equalsMalformed bool
	// noMechanism answers AUTH with a mechanism not offered.
	noMechanism *smtp.SMTPError
	// tlsFirst answers AUTH on a listener that requires STARTTLS first.
	tlsFirst *smtp.SMTPError
	// authRequired answers MAIL before AUTH (or before STARTTLS:
	// mailBeforeTLS).
	authRequired, mailBeforeTLS *smtp.SMTPError
	// throttled answers MAIL from a mailbox over its rate; the connection
	// is closed after it.
	throttled *smtp.SMTPError
	// sendAsDenied answers, after DATA, a MAIL FROM that is neither the
	// authenticated mailbox nor an address it may send as; nil if the
	// service does not check.
	sendAsDenied func(mailbox, from string) *smtp.SMTPError
}

var dialects = map[provider.Type]*dialect{
	provider.Microsoft: exchange,
	provider.Google:    gmail,
}

// exchange is Exchange Online (smtp.office365.com). It never explains a
// refused login beyond "5.7.3", except for the per-mailbox SMTP AUTH
// switch, which has its own code.
var exchange = &dialect{
	domain: "smtp.office365.example",
	// The SIZE smtp.office365.com advertises (150 MB).
	maxMessageBytes: 157286400,
	mechanisms:      []string{"LOGIN", oauthsasl.XOAUTH2},
	tokenRefused: func(_ string, r *mailauth.Rejected) error {
		return exchangeRefusal(r)
	},
	passwordRefused: exchangeRefusal,
	authFailed:      exchangeAuthFailed,
	// Not confirmed against the real service: a malformed XOAUTH2 message
	// is taken to get the same answer as a refused token.
	malformed:     exchangeAuthFailed,
	noMechanism:   exchangeUnrecognized,
	tlsFirst:      exchangeUnrecognized,
	authRequired:  exchangeNotAuthenticated,
	mailBeforeTLS: exchangeNotAuthenticated,
	// Exchange Online's documentation says it delays submissions over 30
	// a minute rather than refusing them; the sandbox answers the way an
	// Exchange receive connector's MessageRateLimit does, so that a
	// sender's temporary-failure path is exercised.
	throttled: &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
		Message: "Message submission rate for this client has exceeded the configured limit"},
	sendAsDenied: func(mailbox, from string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 2, 252},
			Message: "SendAsDenied; " + mailbox + " not allowed to send as " + from +
				"; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied;" +
				" Failed to process message due to a permanent exception with message Cannot submit message."}
	},
}

var (
	exchangeAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 3},
		Message: "Authentication unsuccessful"}
	exchangeAuthDisabled = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139},
		Message: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox." +
			" Visit https://aka.ms/smtp_auth_disabled for more information."}
	exchangeUnrecognized = &smtp.SMTPError{Code: 504, EnhancedCode: smtp.EnhancedCode{5, 7, 4},
		Message: "Unrecognized authentication type"}
	exchangeNotAuthenticated = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 57},
		Message: "Client not authenticated to send mail."}
)

func exchangeRefusal(r *mailauth.Rejected) *smtp.SMTPError {
	if r.SMTPAuthDisabled {
		return exchangeAuthDisabled
	}
	return exchangeAuthFailed
}

// gmail is Gmail (smtp.gmail.com). Its multi-line replies repeat the
// enhanced code on every line ("535-5.7.8 ..."); go-smtp writes the code on
// the last line only, so the earlier lines carry it in their text.
var gmail = &dialect{
	domain: "smtp.gmail.example",
	// The SIZE smtp.gmail.com advertises.
	maxMessageBytes: 35882577,
	mechanisms:      []string{"LOGIN", "PLAIN", oauthsasl.XOAUTH2, oauthsasl.OAUTHBEARER},
	tokenRefused:    mailauth.GmailFailure,
	passwordRefused: func(*mailauth.Rejected) *smtp.SMTPError { return gmailBadCredentials },
	authFailed:      gmailBadCredentials,
	malformed: &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
		Message: "Cannot Decode response - gsmtp"},
	// Gmail's answer to "=" after a challenge is not confirmed; that it
	// refuses SASL data it cannot read with the reply above is (users'
	// transcripts, with a session id before "- gsmtp").
	equalsMalformed: true,
	noMechanism: &smtp.SMTPError{Code: 504, EnhancedCode: smtp.EnhancedCode{5, 7, 4},
		Message: "Unrecognized authentication type. - gsmtp"},
	tlsFirst:      gmailTLSFirst,
	mailBeforeTLS: gmailTLSFirst,
	authRequired: &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "5.7.0 Authentication Required. Learn more at\n https://support.google.com/mail/?p=WantAuthError - gsmtp"},
	// Not confirmed against the real service: Gmail's per-minute
	// submission throttling is not documented; this is its generic
	// "try later" reply.
	throttled: &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Try again later, closing connection. - gsmtp"},
}

var (
	gmailBadCredentials = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "5.7.8 Username and Password not accepted. Learn more at\n https://support.google.com/mail/?p=BadCredentials - gsmtp"}
	gmailTLSFirst = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Must issue a STARTTLS command first. - gsmtp"}
)

// saslError turns the error a SASL exchange ended with into the service's
// reply. go-smtp sends an error's own code only if it is exactly an
// *smtp.SMTPError; anything else becomes "454 4.7.0 <error text>", which
// would leak the Directory's reasons to the client.
func (d *dialect) saslError(err error) error {
	var se *smtp.SMTPError
	switch {
	case errors.Is(err, oauthsasl.ErrAuthFailed):
		return d.authFailed
	case errors.As(err, &se):
		return se // already the reply (Exchange's bare refusal)
	default:
		// oauthsasl's ErrMalformed, go-sasl's PLAIN "invalid response",
		// or a LOGIN exchange out of step.
		return d.malformed
	}
}
