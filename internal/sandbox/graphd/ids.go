package graphd

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"

	"mailtokens/internal/sandbox/imapd"
)

// Ids are opaque to clients and look like Exchange's (URL-safe base64).
// A message id names the mailbox, the folder, the folder's UIDVALIDITY and
// the message's UID, so it stays the same while the message stays in its
// folder and changes when it moves (a new UID), as Exchange's do; an id
// from before a folder was recreated no longer resolves. A folder id is
// its IMAP name.

const (
	messagePrefix = "AAMk"
	folderPrefix  = "AQMk"
)

// wellKnown are Graph's well-known folder names (case-insensitive) and
// the sandbox IMAP server's Microsoft-style folders they stand for.
var wellKnown = map[string]string{
	"inbox":        "INBOX",
	"archive":      "Archive",
	"deleteditems": "Deleted Items",
	"drafts":       "Drafts",
	"junkemail":    "Junk Email",
	"outbox":       "Outbox",
	"sentitems":    "Sent Items",
}

// rootFolder is the parent of the top-level folders (msgfolderroot).
const rootFolder = ""

func folderID(name string) string {
	return folderPrefix + base64.URLEncoding.EncodeToString([]byte(name))
}

// folderName resolves a well-known name or a folder id to the IMAP name,
// if mailbox has the folder.
func (s *Server) folderName(mailbox, ref string) (string, *apiError) {
	name, ok := wellKnown[strings.ToLower(ref)]
	if !ok {
		if strings.EqualFold(ref, "msgfolderroot") {
			return rootFolder, nil
		}
		b, err := base64.URLEncoding.DecodeString(strings.TrimPrefix(ref, folderPrefix))
		if !strings.HasPrefix(ref, folderPrefix) || err != nil {
			return "", errInvalidID
		}
		name = string(b)
	}
	folders, err := s.opt.IMAP.Folders(mailbox)
	if err != nil {
		return "", errNotFound
	}
	for _, f := range folders {
		if f == name {
			return name, nil
		}
	}
	return "", errNotFound
}

// msgRef is what a message id names.
type msgRef struct {
	mailbox, folder string
	uidValidity     uint32
	uid             uint32
}

func (m msgRef) id() string {
	var b bytes.Buffer
	b.WriteString(m.mailbox)
	b.WriteByte(0)
	b.WriteString(m.folder)
	b.WriteByte(0)
	_ = binary.Write(&b, binary.BigEndian, [2]uint32{m.uidValidity, m.uid})
	return messagePrefix + base64.URLEncoding.EncodeToString(b.Bytes())
}

var errBadID = errors.New("malformed message id")

func parseMessageID(id string) (msgRef, error) {
	raw, err := base64.URLEncoding.DecodeString(strings.TrimPrefix(id, messagePrefix))
	if !strings.HasPrefix(id, messagePrefix) || err != nil {
		return msgRef{}, errBadID
	}
	parts := bytes.SplitN(raw, []byte{0}, 3)
	if len(parts) != 3 || len(parts[2]) != 8 {
		return msgRef{}, errBadID
	}
	return msgRef{mailbox: string(parts[0]), folder: string(parts[1]),
		uidValidity: binary.BigEndian.Uint32(parts[2][:4]), uid: binary.BigEndian.Uint32(parts[2][4:])}, nil
}

// message finds the message id names in c's mailbox.
func (s *Server) message(c *call, id string) (msgRef, imapd.Message, *apiError) {
	ref, err := parseMessageID(id)
	if err != nil {
		return ref, imapd.Message{}, errInvalidID
	}
	if ref.mailbox != c.mailbox {
		return ref, imapd.Message{}, errNotFound
	}
	v, err := s.opt.IMAP.UIDValidity(ref.mailbox, ref.folder)
	if err != nil || v != ref.uidValidity {
		return ref, imapd.Message{}, errNotFound
	}
	m, err := s.opt.IMAP.Message(ref.mailbox, ref.folder, ref.uid)
	if err != nil {
		return ref, imapd.Message{}, errNotFound
	}
	return ref, m, nil
}
