package gmaild

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
)

// A mailbox's Gmail view is kept beside the IMAP store and brought up to
// date (sync) at the start of every request, so that what IMAP clients
// did since — APPEND, STORE, MOVE, EXPUNGE — shows as Gmail changes with
// history records, and what the API does shows over IMAP at once.
//
// The model: a message is in exactly one IMAP folder, which stands for at
// most one of the labels INBOX, SENT, DRAFT, SPAM, TRASH or a user label
// (any other folder, its name the label's name); "[Gmail]/All Mail"
// stands for none (an archived message). UNREAD is the absence of \Seen,
// STARRED is \Flagged. Gmail's many-labels-per-message is not modelled:
// modify refuses to leave a message with two folder labels.
//
// Ids are Gmail-like (16 hex digits), random, and stay with the message
// while it lives, whichever folder it moves to: moves by the API update
// the index directly, and a message that an IMAP client moved (gone from
// one folder, the same bytes new in another in the same sync) keeps its
// id too. A message's thread is the thread of the message its
// In-Reply-To or References names, if this mailbox has it, and its own id
// otherwise (Gmail also compares subjects; the sandbox does not).

// systemFolders maps the Google-style IMAP server's folders to Gmail's
// system labels.
var systemFolders = map[string]string{
	"INBOX":             "INBOX",
	"[Gmail]/Sent Mail": "SENT",
	"[Gmail]/Drafts":    "DRAFT",
	"[Gmail]/Spam":      "SPAM",
	"[Gmail]/Trash":     "TRASH",
	allMail:             "",
}

const (
	allMail     = "[Gmail]/All Mail"
	trashFolder = "[Gmail]/Trash"
	sentFolder  = "[Gmail]/Sent Mail"
)

// systemLabels are listed by labels.list in this order.
var systemLabels = []string{"INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "STARRED"}

type loc struct {
	folder           string
	uidValidity, uid uint32
}

type entry struct {
	id, threadID string
	loc          loc
	labels       []string // sorted label ids
	internalDate time.Time
	size         int
	hash         [32]byte
	seq          uint64 // discovery order, for a stable listing order
	historyID    uint64 // the last record that changed it
	// untrashTo is the folder trash moved it from.
	untrashTo string
}

// record is one history record: one change to one message.
type record struct {
	id             uint64
	msgID, thread  string
	labels         []string // the message's labels after the change (before, for a deletion)
	added, deleted bool
	labelsAdded    []string
	labelsRemoved  []string
}

type mailbox struct {
	mu        sync.Mutex
	name      string
	historyID uint64 // the newest record's id (or the start)
	floor     uint64 // records up to this id are forgotten
	byID      map[string]*entry
	byLoc     map[loc]*entry
	records   []record
	// User labels: folder name <-> Label_N.
	labelIDs     map[string]string
	labelFolders map[string]string
	nextLabel    int
	nextSeq      uint64
	threads      map[string]string // Message-ID -> thread id
}

// mailbox returns name's view, creating it empty.
func (s *Server) mailbox(name string) *mailbox {
	name = mailauth.Normalize(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[name]
	if mb == nil {
		mb = &mailbox{name: name, historyID: s.opt.FirstHistoryID, floor: s.opt.FirstHistoryID,
			byID: map[string]*entry{}, byLoc: map[loc]*entry{}, labelIDs: map[string]string{},
			labelFolders: map[string]string{}, threads: map[string]string{}}
		s.mailboxes[name] = mb
	}
	return mb
}

// labelOf is the label a folder stands for ("" for All Mail), giving a
// user folder a label id at first sight.
func (mb *mailbox) labelOf(folder string) string {
	if l, ok := systemFolders[folder]; ok {
		return l
	}
	if id, ok := mb.labelIDs[folder]; ok {
		return id
	}
	mb.nextLabel++
	id := "Label_" + strconv.Itoa(mb.nextLabel)
	mb.labelIDs[folder], mb.labelFolders[id] = id, folder
	return id
}

// folderOf is the folder a folder label stands for; ok is false for
// UNREAD, STARRED and unknown ids.
func (mb *mailbox) folderOf(label string) (string, bool) {
	for f, l := range systemFolders {
		if l == label && l != "" {
			return f, true
		}
	}
	f, ok := mb.labelFolders[label]
	return f, ok
}

func (mb *mailbox) labelsFor(folder string, flags []imap.Flag) []string {
	var out []string
	if l := mb.labelOf(folder); l != "" {
		out = append(out, l)
	}
	if !slices.Contains(flags, imap.FlagSeen) {
		out = append(out, "UNREAD")
	}
	if slices.Contains(flags, imap.FlagFlagged) {
		out = append(out, "STARRED")
	}
	slices.Sort(out)
	return out
}

// fresh is a message found at a location the index does not know.
type fresh struct {
	loc loc
	msg imapd.Message
}

// sync brings mb up to date with the IMAP store. The caller holds mb.mu.
func (s *Server) sync(mb *mailbox) error {
	folders, err := s.opt.IMAP.Folders(mb.name)
	if err != nil {
		return err
	}
	seen := map[loc]bool{}
	var news []fresh
	for _, f := range folders {
		v, msgs, err := s.opt.IMAP.Index(mb.name, f)
		if err != nil {
			continue // deleted since the listing
		}
		var uids []uint32
		for _, m := range msgs {
			l := loc{f, v, m.UID}
			seen[l] = true
			if e := mb.byLoc[l]; e != nil {
				mb.change(e, mb.labelsFor(f, m.Flags))
				continue
			}
			uids = append(uids, m.UID)
		}
		if len(uids) == 0 {
			continue
		}
		full, err := s.opt.IMAP.MessagesByUID(mb.name, f, uids)
		if err != nil {
			return err
		}
		for _, m := range full {
			news = append(news, fresh{loc{f, v, m.UID}, m})
		}
	}
	var gone []*entry
	for l, e := range mb.byLoc {
		if !seen[l] {
			gone = append(gone, e)
		}
	}
	slices.SortFunc(gone, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	moved := map[[32]byte][]*entry{}
	for _, e := range gone {
		moved[e.hash] = append(moved[e.hash], e)
	}
	for _, n := range news {
		h := sha256.Sum256(n.msg.Raw)
		if list := moved[h]; len(list) > 0 {
			e := list[0]
			moved[h] = list[1:]
			delete(mb.byLoc, e.loc)
			e.loc = n.loc
			mb.byLoc[n.loc] = e
			mb.change(e, mb.labelsFor(n.loc.folder, n.msg.Flags))
			continue
		}
		mb.add(n, h)
	}
	for _, list := range moved {
		for _, e := range list {
			mb.remove(e)
		}
	}
	return nil
}

func (mb *mailbox) nextRecord(r record) {
	mb.historyID++
	r.id = mb.historyID
	mb.records = append(mb.records, r)
}

func (mb *mailbox) add(n fresh, hash [32]byte) {
	e := &entry{id: newID(mb), loc: n.loc, labels: mb.labelsFor(n.loc.folder, n.msg.Flags),
		internalDate: n.msg.InternalDate, size: len(n.msg.Raw), hash: hash}
	mb.nextSeq++
	e.seq = mb.nextSeq
	e.threadID = e.id
	var msgID string
	if m, err := mail.ReadMessage(bytes.NewReader(n.msg.Raw)); err == nil {
		msgID = strings.TrimSpace(m.Header.Get("Message-Id"))
		refs := strings.Fields(m.Header.Get("References") + " " + m.Header.Get("In-Reply-To"))
		for _, r := range refs {
			if t, ok := mb.threads[r]; ok {
				e.threadID = t
				break
			}
		}
	}
	if msgID != "" {
		if _, ok := mb.threads[msgID]; !ok {
			mb.threads[msgID] = e.threadID
		}
	}
	mb.byID[e.id], mb.byLoc[e.loc] = e, e
	mb.nextRecord(record{msgID: e.id, thread: e.threadID, labels: e.labels, added: true})
	e.historyID = mb.historyID
}

// change records e's new labels, if they differ.
func (mb *mailbox) change(e *entry, labels []string) {
	var add, rm []string
	for _, l := range labels {
		if !slices.Contains(e.labels, l) {
			add = append(add, l)
		}
	}
	for _, l := range e.labels {
		if !slices.Contains(labels, l) {
			rm = append(rm, l)
		}
	}
	if len(add) == 0 && len(rm) == 0 {
		return
	}
	e.labels = labels
	mb.nextRecord(record{msgID: e.id, thread: e.threadID, labels: labels, labelsAdded: add, labelsRemoved: rm})
	e.historyID = mb.historyID
}

func (mb *mailbox) remove(e *entry) {
	delete(mb.byLoc, e.loc)
	delete(mb.byID, e.id)
	mb.nextRecord(record{msgID: e.id, thread: e.threadID, labels: e.labels, deleted: true})
}

// newID is a fresh message id: 16 hex digits, as Gmail's look.
func newID(mb *mailbox) string {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		b[0] = 0x10 | b[0]&0x0f // no leading zero, so all 16 digits show
		id := hex.EncodeToString(b[:])
		if _, taken := mb.byID[id]; !taken {
			return id
		}
	}
}

// ForgetHistory drops every history record of address's mailbox made so far: a
// history.list from an earlier startHistoryId answers 404, as Gmail's
// does for an id out of its window (typically after about a week); the
// client must sync in full (messages.list, then getProfile's historyId).
// An empty mailbox forgets the history of every mailbox.
func (s *Server) ForgetHistory(address string) {
	s.mu.Lock()
	var boxes []*mailbox
	for name, mb := range s.mailboxes {
		if address == "" || name == mailauth.Normalize(address) {
			boxes = append(boxes, mb)
		}
	}
	s.mu.Unlock()
	for _, mb := range boxes {
		mb.mu.Lock()
		mb.floor = mb.historyID
		mb.records = nil
		mb.mu.Unlock()
	}
}

// withMailbox runs f on c's mailbox view, brought up to date, holding its
// lock: the requests of one mailbox are served one at a time.
func (s *Server) withMailbox(c *call, f func(*mailbox) *apiError) *apiError {
	mb := s.mailbox(c.mailbox)
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if err := s.sync(mb); err != nil {
		s.log.Error("sync", "mailbox", mb.name, "err", err)
		return errInternal
	}
	return f(mb)
}
