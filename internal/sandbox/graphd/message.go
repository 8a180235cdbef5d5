package graphd

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/sandbox/imapd"
)

// graphTime is how Graph writes a DateTimeOffset.
func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// defaultFields are the message properties the sandbox knows, all sent
// unless $select names some.
var defaultFields = []string{"receivedDateTime", "sentDateTime", "subject", "internetMessageId", "isRead", "parentFolderId", "from", "toRecipients", "ccRecipients", "bccRecipients"}

type emailAddress struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type recipient struct {
	EmailAddress emailAddress `json:"emailAddress"`
}

// messageJSON is the Graph representation of m, which is ref, with the
// properties of fields (nil: defaultFields) and always the id.
func messageJSON(ref msgRef, m imapd.Message, fields []string) map[string]any {
	if fields == nil {
		fields = defaultFields
	}
	out := map[string]any{
		"@odata.etag": etag(m),
		"id":          ref.id(),
	}
	var h mail.Header
	if msg, err := mail.ReadMessage(bytes.NewReader(m.Raw)); err == nil {
		h = msg.Header
	}
	dec := new(mime.WordDecoder)
	addrs := func(name string) []recipient {
		list, _ := h.AddressList(name)
		out := []recipient{}
		for _, a := range list {
			out = append(out, recipient{emailAddress{a.Name, a.Address}})
		}
		return out
	}
	for _, f := range fields {
		switch f {
		case "receivedDateTime":
			out[f] = graphTime(m.InternalDate)
		case "sentDateTime":
			if d, err := h.Date(); err == nil {
				out[f] = graphTime(d)
			} else {
				out[f] = graphTime(m.InternalDate)
			}
		case "subject":
			subj, err := dec.DecodeHeader(h.Get("Subject"))
			if err != nil {
				subj = h.Get("Subject")
			}
			out[f] = subj
		case "internetMessageId":
			out[f] = h.Get("Message-Id")
		case "isRead":
			out[f] = slices.Contains(m.Flags, imap.FlagSeen)
		case "parentFolderId":
			out[f] = folderID(ref.folder)
		case "from":
			if list := addrs("From"); len(list) > 0 {
				out[f] = list[0]
			} else {
				out[f] = nil
			}
		case "toRecipients":
			out[f] = addrs("To")
		case "ccRecipients":
			out[f] = addrs("Cc")
		case "bccRecipients":
			out[f] = addrs("Bcc")
		}
	}
	return out
}

// etag changes when the message's flags do.
func etag(m imapd.Message) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d %v", m.UID, m.Flags)
	return `W/"` + base64.StdEncoding.EncodeToString(h.Sum(nil)[:12]) + `"`
}

// parseSelect reads $select: nil for none.
func parseSelect(r *http.Request) []string {
	sel := r.URL.Query().Get("$select")
	if sel == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(sel, ",") {
		if f = strings.TrimSpace(f); f != "" && f != "id" {
			out = append(out, f)
		}
	}
	return out
}

// getMessage serves GET /users/{user}/messages/{id}.
func (s *Server) getMessage(c *call) *apiError {
	ref, m, e := s.message(c, c.r.PathValue("id"))
	if e != nil {
		return e
	}
	writeJSON(c.w, http.StatusOK, s.withContext(c, "messages/$entity", messageJSON(ref, m, parseSelect(c.r))))
	return nil
}

// withContext adds @odata.context to v.
func (s *Server) withContext(c *call, what string, v map[string]any) map[string]any {
	v["@odata.context"] = baseURL(c.r) + "/v1.0/$metadata#users('" + c.mailbox + "')/" + what
	return v
}

// getMessageValue serves GET /users/{user}/messages/{id}/$value: the MIME
// message byte for byte as stored.
func (s *Server) getMessageValue(c *call) *apiError {
	_, m, e := s.message(c, c.r.PathValue("id"))
	if e != nil {
		return e
	}
	// Graph's Content-Type for $value of a message is not documented;
	// text/plain is what clients report seeing.
	c.w.Header().Set("Content-Type", "text/plain")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(m.Raw)
	return nil
}

// updateMessage serves PATCH /users/{user}/messages/{id}: isRead is the
// one property the sandbox changes; others are accepted and ignored.
func (s *Server) updateMessage(c *call) *apiError {
	ref, _, e := s.message(c, c.r.PathValue("id"))
	if e != nil {
		return e
	}
	var body struct {
		IsRead *bool `json:"isRead"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 1<<20)).Decode(&body); err != nil {
		return errBadJSON
	}
	if body.IsRead != nil {
		op := imap.StoreFlagsDel
		if *body.IsRead {
			op = imap.StoreFlagsAdd
		}
		if err := s.opt.IMAP.StoreFlags(ref.mailbox, ref.folder, ref.uid, op, imap.FlagSeen); err != nil {
			return errNotFound
		}
	}
	m, err := s.opt.IMAP.Message(ref.mailbox, ref.folder, ref.uid)
	if err != nil {
		return errNotFound
	}
	writeJSON(c.w, http.StatusOK, s.withContext(c, "messages/$entity", messageJSON(ref, m, nil)))
	return nil
}

// moveMessage serves POST /users/{user}/messages/{id}/move: 201 with the
// message under its new id.
func (s *Server) moveMessage(c *call) *apiError {
	ref, _, e := s.message(c, c.r.PathValue("id"))
	if e != nil {
		return e
	}
	var body struct {
		DestinationID string `json:"destinationId"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 1<<20)).Decode(&body); err != nil || body.DestinationID == "" {
		return errBadJSON
	}
	dest, e := s.folderName(c.mailbox, body.DestinationID)
	if e != nil {
		return e
	}
	moved, e := s.move(ref, dest)
	if e != nil {
		return e
	}
	m, err := s.opt.IMAP.Message(moved.mailbox, moved.folder, moved.uid)
	if err != nil {
		return errNotFound
	}
	writeJSON(c.w, http.StatusCreated, s.withContext(c, "messages/$entity", messageJSON(moved, m, nil)))
	return nil
}

// move moves ref to dest and returns where it went. Moving a message to
// its own folder leaves it (and its id) alone.
func (s *Server) move(ref msgRef, dest string) (msgRef, *apiError) {
	if dest == ref.folder {
		return ref, nil
	}
	if dest == rootFolder {
		return ref, errNotFound
	}
	v, err := s.opt.IMAP.UIDValidity(ref.mailbox, dest)
	if err != nil {
		return ref, errNotFound
	}
	uid, err := s.opt.IMAP.MoveMessage(ref.mailbox, ref.folder, ref.uid, dest)
	if err != nil {
		return ref, errNotFound
	}
	return msgRef{mailbox: ref.mailbox, folder: dest, uidValidity: v, uid: uid}, nil
}

// deleteMessage serves DELETE /users/{user}/messages/{id}. Exchange moves
// the message to Deleted Items (Outlook's "delete"); deleted from Deleted
// Items, it goes to Recoverable Items, which neither Graph's folders nor
// IMAP show: in the sandbox, it is expunged.
func (s *Server) deleteMessage(c *call) *apiError {
	ref, _, e := s.message(c, c.r.PathValue("id"))
	if e != nil {
		return e
	}
	if ref.folder == wellKnown["deleteditems"] {
		return s.expunge(c, ref)
	}
	if _, e := s.move(ref, wellKnown["deleteditems"]); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// permanentDelete serves POST /users/{user}/messages/{id}/permanentDelete:
// the message goes to Recoverable Items' Purges, out of sight; expunged
// here.
func (s *Server) permanentDelete(c *call) *apiError {
	ref, _, e := s.message(c, c.r.PathValue("id"))
	if e != nil {
		return e
	}
	return s.expunge(c, ref)
}

func (s *Server) expunge(c *call, ref msgRef) *apiError {
	if err := s.opt.IMAP.ExpungeMessage(ref.mailbox, ref.folder, ref.uid); err != nil {
		return errNotFound
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// baseURL is the scheme and host the client used.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
