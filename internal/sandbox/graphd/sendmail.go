package graphd

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/sandbox/mailsubmit"
)

// Sent is a message the server accepted with sendMail. For a JSON
// sendMail, Raw is the MIME the sandbox built from it.
type Sent struct {
	mailsubmit.Message
	// SavedToSentItems: a copy (Raw, Bcc kept, \Seen) is in Sent Items.
	SavedToSentItems bool
}

// Sent returns the messages sent so far, oldest first. The byte slices are
// shared and must not be modified.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mailsubmit.Snapshot(s.sent)
}

// maxMessage bounds a sendMail body (base64 of Exchange Online's 35 MB
// largest message, with room).
const maxMessage = 50 << 20

// sendMail serves POST /users/{user}/sendMail: base64 MIME with
// Content-Type text/plain, or JSON with application/json. It answers 202
// with no body.
//
// What happens to the message, as Exchange Online does it: recipients are
// taken from To, Cc and Bcc; the copies recipients get have no Bcc header;
// the copy in the sender's Sent Items keeps it (the sender may see whom
// they Bcc'd). A MIME message is always saved to Sent Items
// (saveToSentItems is a JSON-only parameter). Recipients whose mailbox is
// in the sandbox IMAP server get the message in their INBOX; every
// message is recorded (Sent). Exchange also rewrites the MIME it sends
// (headers it adds, re-encoded parts); the sandbox delivers the bytes as
// submitted, less Bcc.
func (s *Server) sendMail(c *call) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, maxMessage))
	if err != nil {
		return &apiError{http.StatusRequestEntityTooLarge, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.", 0}
	}
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	var raw []byte
	save := true
	switch mt {
	case "text/plain":
		raw, err = base64.StdEncoding.DecodeString(stripSpace(body))
		if err != nil || len(raw) == 0 {
			return errBadBase64
		}
	case "application/json":
		var e *apiError
		if raw, save, e = s.mimeFromJSON(c, body); e != nil {
			return e
		}
	default:
		return errMediaType
	}
	var rcpts []string
	if m, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		rcpts, _ = mailsubmit.Recipients(m.Header)
	}
	if len(rcpts) == 0 {
		return errNoRecipients
	}
	if save {
		if _, err := s.opt.IMAP.Append(c.mailbox, wellKnown["sentitems"], raw, imap.FlagSeen); err != nil {
			return &apiError{http.StatusInternalServerError, "ErrorInternalServerError", "An internal server error occurred. The operation failed.", 0}
		}
	}
	delivered := mailsubmit.Deliver(s.opt.IMAP, rcpts, raw)
	s.mu.Lock()
	s.sent = append(s.sent, Sent{SavedToSentItems: save, Message: mailsubmit.Message{Mailbox: c.mailbox, Recipients: rcpts,
		Raw: raw, Delivered: delivered, Time: s.now()}})
	s.mu.Unlock()
	s.log.Info("message sent", "mailbox", c.mailbox, "rcpts", len(rcpts), "bytes", len(raw))
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

// stripSpace drops the line breaks (and any other white space) that a
// client may wrap base64 with.
func stripSpace(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, string(b))
}

// jsonMessage is the part of Graph's message resource JSON sendMail reads.
type jsonMessage struct {
	Subject string `json:"subject"`
	Body    struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"body"`
	ToRecipients  []recipient `json:"toRecipients"`
	CcRecipients  []recipient `json:"ccRecipients"`
	BccRecipients []recipient `json:"bccRecipients"`
}

// mimeFromJSON builds the MIME message a JSON sendMail stands for.
func (s *Server) mimeFromJSON(c *call, body []byte) (raw []byte, save bool, e *apiError) {
	var req struct {
		Message         *jsonMessage `json:"message"`
		SaveToSentItems *jsonBool    `json:"saveToSentItems"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Message == nil {
		return nil, false, errBadJSON
	}
	save = req.SaveToSentItems == nil || bool(*req.SaveToSentItems)
	m := req.Message
	var b bytes.Buffer
	list := func(field string, rs []recipient) {
		if len(rs) == 0 {
			return
		}
		var as []string
		for _, r := range rs {
			as = append(as, (&mail.Address{Name: r.EmailAddress.Name, Address: r.EmailAddress.Address}).String())
		}
		b.WriteString(field + ": " + strings.Join(as, ", ") + "\r\n")
	}
	b.WriteString("From: " + (&mail.Address{Address: c.mailbox}).String() + "\r\n")
	list("To", m.ToRecipients)
	list("Cc", m.CcRecipients)
	list("Bcc", m.BccRecipients)
	b.WriteString("Subject: " + mime.QEncoding.Encode("utf-8", m.Subject) + "\r\n")
	b.WriteString("Date: " + s.now().Format(time.RFC1123Z) + "\r\n")
	var id [12]byte
	_, _ = rand.Read(id[:])
	b.WriteString("Message-ID: <" + hex.EncodeToString(id[:]) + "@sandbox.graph.example>\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	ct := "text/plain"
	if strings.EqualFold(m.Body.ContentType, "html") {
		ct = "text/html"
	}
	b.WriteString("Content-Type: " + ct + "; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(m.Body.Content))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes(), save, nil
}

// jsonBool takes true and false also as strings, as Graph does (its own
// sendMail example sends "saveToSentItems": "false").
type jsonBool bool

func (j *jsonBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*j = jsonBool(v)
	case string:
		*j = jsonBool(strings.EqualFold(v, "true"))
	}
	return nil
}
