// Package mailsubmit does what the sandbox's HTTP mail APIs (graphd's
// sendMail, gmaild's messages.send) both do with a message a client
// submits, as Exchange Online and Gmail both do it: the envelope is the
// To, Cc and Bcc addresses; the recipients' copies have no Bcc header (the
// sender's copy keeps it, so the sender sees whom they Bcc'd); recipients
// with a mailbox in the sandbox IMAP server get theirs in their INBOX.
// Each API keeps its own answers, and its own way of saving the sender's
// copy.
package mailsubmit

import (
	"bytes"
	"net/mail"
	"slices"
	"strings"
	"time"

	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
)

// Message is what an API records of a message it sent; its own record
// (Sent) embeds it and adds what only that API has.
type Message struct {
	// Mailbox is the sender's mailbox (the {user} of the path),
	// lowercased.
	Mailbox string
	// Recipients are the envelope recipients: the To, Cc and Bcc
	// addresses, lowercased, in that order, each once.
	Recipients []string
	// Raw is the message as submitted (decoded), as the sender's copy
	// keeps it.
	Raw []byte
	// Delivered is what the recipients got: Raw without its Bcc header.
	Delivered []byte
	Time      time.Time
}

func (m *Message) message() *Message { return m }

// Snapshot copies an API's records of sent messages (types embedding
// Message) for a caller outside the API's lock: the Recipients are copied
// too, so that the caller may change them; the byte slices are shared and
// must not be modified.
func Snapshot[T any, P interface {
	*T
	message() *Message
}](sent []T) []T {
	out := slices.Clone(sent)
	for i := range out {
		m := P(&out[i]).message()
		m.Recipients = slices.Clone(m.Recipients)
	}
	return out
}

// Recipients returns the envelope of a message with header h: its To, Cc
// and Bcc addresses, lowercased, in that order, each once. bad names the
// first of those fields that is there but does not parse ("" when none);
// it adds no addresses. Gmail refuses such a message; Graph sends to the
// addresses of the other fields.
func Recipients(h mail.Header) (rcpts []string, bad string) {
	for _, field := range []string{"To", "Cc", "Bcc"} {
		if h.Get(field) == "" {
			continue
		}
		list, err := h.AddressList(field)
		if err != nil {
			if bad == "" {
				bad = field
			}
			continue
		}
		for _, a := range list {
			if addr := mailauth.Normalize(a.Address); !slices.Contains(rcpts, addr) {
				rcpts = append(rcpts, addr)
			}
		}
	}
	return rcpts, bad
}

// Deliver puts raw, less its Bcc header, in the INBOX of each of rcpts
// that has a mailbox in srv (unread; the others are outside the sandbox
// and get nothing), and returns what they got.
func Deliver(srv *imapd.Server, rcpts []string, raw []byte) (delivered []byte) {
	delivered = WithoutHeader(raw, "Bcc")
	for _, r := range rcpts {
		if srv.HasMailbox(r) {
			_, _ = srv.Append(r, "INBOX", delivered)
		}
	}
	return delivered
}

// WithoutHeader returns raw without the header field name (every
// occurrence, continuation lines included); the body and every other byte
// are untouched.
func WithoutHeader(raw []byte, name string) []byte {
	var out bytes.Buffer
	rest := raw
	dropping := false
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if len(bytes.TrimRight(line, "\r\n")) == 0 { // the end of the header
			out.Write(line)
			out.Write(rest)
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !dropping {
				out.Write(line)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		dropping = colon > 0 && strings.EqualFold(strings.TrimSpace(string(line[:colon])), name)
		if !dropping {
			out.Write(line)
		}
	}
	return out.Bytes()
}
