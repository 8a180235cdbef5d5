// Package mailserver is the vocabulary every package uses for a mail
// server: its protocol, its connection security and its address, spelled
// as task files, the admin's forms and the command line spell them.
package mailserver

import (
	"crypto/x509"
	"net"
	"strconv"
	"time"
)

// Protocol is a mail protocol.
type Protocol string

// The protocols.
const (
	IMAP Protocol = "IMAP"
	POP3 Protocol = "POP3"
	SMTP Protocol = "SMTP"
	// GRAPH is Microsoft Graph's mail API over HTTPS: a transport of the
	// workers, not a server to log in to (Valid is false for it).
	GRAPH Protocol = "GRAPH"
	// GMAILAPI is the Gmail API over HTTPS, a transport like GRAPH.
	GMAILAPI Protocol = "GMAIL_API"
)

// Valid says whether p is one of the protocols.
func (p Protocol) Valid() bool { return p == IMAP || p == POP3 || p == SMTP }

// Security is how a connection is protected.
type Security string

// The choices.
const (
	SSL      Security = "SSL"      // TLS from the first byte
	STARTTLS Security = "STARTTLS" // plain, then upgraded; refused if the server does not offer it
	NONE     Security = "NONE"     // clear text: only sensible on loopback
)

// Valid says whether s is one of the choices.
func (s Security) Valid() bool { return s == SSL || s == STARTTLS || s == NONE }

// Server is a mail server to log in to.
type Server struct {
	Protocol Protocol
	Host     string
	Port     int
	Security Security
	// RootCAs verifies the server's certificate; nil = the system's roots.
	RootCAs *x509.CertPool
	// Timeout bounds the connection and every exchange up to the end of
	// the login; 0 = mailconn's default.
	Timeout time.Duration
}

// Addr is host:port.
func (s Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }
