package mailauth

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"mailtokens/internal/provider"
)

// Mode is how a sandbox server's listener secures its connections; the
// IMAP, POP3 and SMTP servers share it.
type Mode int

// The listener modes.
const (
	// ImplicitTLS speaks TLS from the first byte (993, 995, 465).
	ImplicitTLS Mode = iota + 1
	// RequireStartTLS starts in clear text, offers STARTTLS and refuses
	// logins until the client has upgraded, as Exchange and Gmail do on
	// 143, 110 and 587.
	RequireStartTLS
	// StartTLS offers STARTTLS but also allows logins without it, to test
	// that a client upgrades on its own.
	StartTLS
	// Plain never offers TLS and allows logins in clear text; for loopback
	// tests only.
	Plain
)

// String names m for logs and test names.
func (m Mode) String() string {
	switch m {
	case ImplicitTLS:
		return "tls"
	case RequireStartTLS:
		return "starttls-required"
	case StartTLS:
		return "starttls"
	case Plain:
		return "plain"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ServerOptions are the options the IMAP, POP3 and SMTP servers share;
// each server's Options embeds them.
type ServerOptions struct {
	// Style is the service to imitate: provider.Microsoft (Exchange
	// Online) or provider.Google (Gmail).
	Style provider.Type
	// Directory decides who may log in to which mailbox. It is required.
	Directory *Directory
	// TLS is the server's TLS configuration, needed by every Mode but
	// Plain (testcert.Cert.ServerTLS gives one).
	TLS *tls.Config
	// Host is the address the server listens on: 127.0.0.1 when empty.
	// A test that puts the server on a network of its own (a network
	// namespace standing in for another host) names that address.
	Host string
	// Logger gets one line per login (and per message, for SMTP) and the
	// protocol library's errors; nil discards them. Tokens and passwords
	// are never logged.
	Logger *slog.Logger
}

// ListenHost is the address to listen on: Host, or 127.0.0.1.
func (o ServerOptions) ListenHost() string {
	if o.Host == "" {
		return "127.0.0.1"
	}
	return o.Host
}

// Log is the server's logger: Logger (or a discarding one) naming the
// server and its style.
func (o ServerOptions) Log(server string) *slog.Logger {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return log.With("server", server, "style", string(o.Style))
}
