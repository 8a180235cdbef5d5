package gmaild

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/sandbox/mailsubmit"
)

// Sent is a message the server accepted with messages.send.
type Sent struct {
	mailsubmit.Message
	// ID is the message's id in the sender's mailbox (its Sent Mail copy).
	ID string
}

// Sent returns the messages sent so far, oldest first. The byte slices are
// shared and must not be modified.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mailsubmit.Snapshot(s.sent)
}

// maxMessage is Gmail's largest message (35 MB), with room for base64 in
// the JSON form.
const maxMessage = 48 << 20

// sendJSON serves POST /gmail/v1/users/{user}/messages/send with
// {"raw": base64url, "threadId": …}. Like every Google JSON bytes field,
// raw may be base64url or standard base64, padded or not.
func (s *Server) sendJSON(c *call) *apiError {
	var body struct {
		Raw *string `json:"raw"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, maxMessage))
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge
		}
		return errBadJSON
	}
	if body.Raw == nil || *body.Raw == "" {
		return errNoRaw
	}
	raw, err := decodeBytes(*body.Raw)
	if err != nil {
		shown := *body.Raw
		if len(shown) > 40 {
			shown = shown[:40]
		}
		return &apiError{status: http.StatusBadRequest, reason: "invalid",
			message: "Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed for \"" + shown + "\""}
	}
	return s.send(c, raw)
}

func decodeBytes(v string) ([]byte, error) {
	v = strings.Map(func(r rune) rune {
		switch r {
		case '+':
			return '-'
		case '/':
			return '_'
		case '=', '\r', '\n':
			return -1
		}
		return r
	}, v)
	return base64.RawURLEncoding.DecodeString(v)
}

// sendUpload serves POST /upload/gmail/v1/users/{user}/messages/send:
// uploadType=media with the message as the body (Content-Type
// message/rfc822), or uploadType=multipart (multipart/related: JSON
// metadata, then the message). Resumable uploads are not supported.
func (s *Server) sendUpload(c *call) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, maxMessage))
	if err != nil {
		return errTooLarge
	}
	switch c.r.URL.Query().Get("uploadType") {
	case "media":
		mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
		if mt != "message/rfc822" {
			return invalid("Media type '" + c.r.Header.Get("Content-Type") + "' is not supported. Valid media types: [message/*]")
		}
		return s.send(c, body)
	case "multipart":
		mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/related" {
			return invalid("Content-Type must be multipart/related for uploadType=multipart")
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		if _, err := mr.NextPart(); err != nil { // the metadata
			return invalid("Missing metadata part")
		}
		p, err := mr.NextPart()
		if err != nil {
			return errNoRaw
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			return errNoRaw
		}
		return s.send(c, raw)
	case "":
		return invalid("Media upload requires uploadType=media or uploadType=multipart")
	default:
		return invalid("Invalid upload type: the sandbox takes uploadType=media or multipart")
	}
}

// send delivers raw, as Gmail does: the envelope is To, Cc and Bcc;
// recipients' copies have no Bcc header; the sender's copy in Sent Mail
// (SENT, read) keeps it, so the sender sees whom they Bcc'd. Recipients
// with a mailbox in the sandbox IMAP server get the copy in their INBOX,
// unread; a sender among the recipients gets a second message there (Gmail
// keeps one message with INBOX and SENT). Every message is recorded
// (Sent). Gmail also adds Message-ID and Date when missing and may
// rewrite From to the sender's address or a send-as alias; the sandbox
// delivers the bytes as submitted, less Bcc.
func (s *Server) send(c *call, raw []byte) *apiError {
	if len(raw) == 0 {
		return errNoRaw
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return invalid("Invalid RFC 822 message")
	}
	rcpts, bad := mailsubmit.Recipients(m.Header)
	if bad != "" {
		return invalid("Invalid " + bad + " header")
	}
	if len(rcpts) == 0 {
		return errNoRecipients
	}
	var out map[string]any
	e := s.withMailbox(c, func(mb *mailbox) *apiError {
		uid, err := s.opt.IMAP.Append(mb.name, sentFolder, raw, imap.FlagSeen)
		if err != nil {
			return errInternal
		}
		v, err := s.opt.IMAP.UIDValidity(mb.name, sentFolder)
		if err != nil {
			return errInternal
		}
		if err := s.sync(mb); err != nil {
			return errInternal
		}
		e := mb.byLoc[loc{sentFolder, v, uid}]
		if e == nil {
			return errInternal
		}
		out = map[string]any{"id": e.id, "threadId": e.threadID, "labelIds": []string{"SENT"}}
		return nil
	})
	if e != nil {
		return e
	}
	delivered := mailsubmit.Deliver(s.opt.IMAP, rcpts, raw)
	s.mu.Lock()
	s.sent = append(s.sent, Sent{ID: out["id"].(string), Message: mailsubmit.Message{Mailbox: c.mailbox, Recipients: rcpts,
		Raw: raw, Delivered: delivered, Time: s.now()}})
	s.mu.Unlock()
	s.log.Info("message sent", "mailbox", c.mailbox, "rcpts", len(rcpts), "bytes", len(raw))
	writeJSON(c.w, http.StatusOK, out)
	return nil
}
