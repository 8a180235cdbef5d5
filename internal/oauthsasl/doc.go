// Package oauthsasl implements the XOAUTH2 and OAUTHBEARER (RFC 7628) SASL
// mechanisms, client and server side, for the IMAP, POP3 and SMTP workers and
// for the sandbox servers that stand in for Microsoft 365 and Gmail.
//
// The clients implement github.com/emersion/go-sasl.Client and the servers
// github.com/emersion/go-sasl.Server, so they plug into go-imap/v2 and
// go-smtp. go-sasl's own OAUTHBEARER is not used: its client returns an error
// on a failure challenge, which leaves go-imap/v2's Authenticate waiting
// forever for a tagged reply that never comes, and its server panics on an
// empty response.
//
// The failure exchange is the part that matters in practice. A server that
// rejects a token does not answer NO / 535 / -ERR at once: it first sends a
// JSON challenge (see Failure) and waits for the client's dummy answer, an
// empty response for XOAUTH2 and a single 0x01 byte for OAUTHBEARER. The
// clients here always give that answer, keep the parsed challenge for
// Failure(), and leave it to the protocol to deliver the final error.
//
// Nothing here assumes that the user named in user= (XOAUTH2) or a=
// (OAUTHBEARER) owns the token: for a shared mailbox the token belongs to the
// delegate and the user is the mailbox.
package oauthsasl

// Mechanism names, as advertised in AUTH= capabilities.
const (
	XOAUTH2     = "XOAUTH2"
	OAUTHBEARER = "OAUTHBEARER"
)
