package imapd

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Message-level access for the sandbox's other front ends to the same
// mailboxes (the Graph-like HTTP API, later a Gmail-API-like one): what
// they change, IMAP clients see at their next command, as if another IMAP
// client had done it. Messages are named by folder and UID; a message that
// moves gets a new UID in its new folder, as over IMAP.
//
// Changes go through an imapmemserver session of their own, the way a
// connection's commands do, so that clients with the folder selected are
// told (FETCH FLAGS, EXPUNGE); reads go through the inspector and never
// set \Seen.

// ErrNoMessage is returned (wrapped) for a UID that is not in the folder.
var ErrNoMessage = errors.New("no such message")

// HasMailbox reports whether mailbox exists (AddMailbox, a login or an
// Append created it).
func (s *Server) HasMailbox(mailbox string) bool {
	_, err := s.existing(mailbox)
	return err == nil
}

// Folders returns the names of mailbox's folders, INBOX spelled so.
func (s *Server) Folders(mailbox string) ([]string, error) {
	if _, err := s.existing(mailbox); err != nil {
		return nil, err
	}
	names, err := s.inspect.folders(mailbox)
	if err != nil {
		return nil, fmt.Errorf("imapd: folders of %s: %w", mailbox, err)
	}
	return names, nil
}

// Message returns message uid of folder, without setting \Seen.
func (s *Server) Message(mailbox, folder string, uid uint32) (Message, error) {
	if _, err := s.existing(mailbox); err != nil {
		return Message{}, err
	}
	msgs, err := s.inspect.messages(mailbox, folderName(folder), imap.UIDSetNum(imap.UID(uid)))
	if err != nil {
		return Message{}, fmt.Errorf("imapd: message %d in %q of %s: %w", uid, folder, mailbox, err)
	}
	// A UID set naming a UID above the highest matches the highest
	// message (RFC 3501's "*" rule does not apply to a plain number, but
	// check anyway).
	for _, m := range msgs {
		if m.UID == uid {
			return m, nil
		}
	}
	return Message{}, fmt.Errorf("imapd: message %d in %q of %s: %w", uid, folder, mailbox, ErrNoMessage)
}

// Index returns folder's UIDVALIDITY and its messages by UID without
// their contents (Raw is nil), read together: cheap enough to call on
// every request of a front end that must notice what IMAP clients did.
func (s *Server) Index(mailbox, folder string) (uidValidity uint32, msgs []Message, err error) {
	if _, err := s.existing(mailbox); err != nil {
		return 0, nil, err
	}
	var all imap.UIDSet
	all.AddRange(1, 0) // 1:*
	v, msgs, err := s.inspect.fetch(mailbox, folderName(folder), all, false)
	if err != nil {
		return 0, nil, fmt.Errorf("imapd: index of %q in %s: %w", folder, mailbox, err)
	}
	return v, msgs, nil
}

// MessagesByUID returns the messages of folder whose UIDs are in uids, by
// UID, with their contents, without setting \Seen. UIDs that are not in
// the folder are left out.
func (s *Server) MessagesByUID(mailbox, folder string, uids []uint32) ([]Message, error) {
	if _, err := s.existing(mailbox); err != nil {
		return nil, err
	}
	if len(uids) == 0 {
		return nil, nil
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	_, msgs, err := s.inspect.fetch(mailbox, folderName(folder), set, true)
	if err != nil {
		return nil, fmt.Errorf("imapd: messages %v in %q of %s: %w", uids, folder, mailbox, err)
	}
	// As in Message: a UID above the highest must not match the highest.
	out := msgs[:0]
	for _, m := range msgs {
		for _, u := range uids {
			if m.UID == u {
				out = append(out, m)
				break
			}
		}
	}
	return out, nil
}

// StoreFlags changes message uid's flags in folder as STORE does: op adds,
// removes or replaces flags.
func (s *Server) StoreFlags(mailbox, folder string, uid uint32, op imap.StoreFlagsOp, flags ...imap.Flag) error {
	return s.withMessage(mailbox, folder, uid, func(sess *imapmemserver.UserSession, uids imap.UIDSet) error {
		return sess.Store(nil, uids, &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, &imap.StoreOptions{})
	})
}

// MoveMessage moves message uid of folder to dest, keeping its flags and
// internal date, and returns its UID in dest. It does what MOVE does
// (copy, then expunge from folder), so clients with either folder
// selected hear of it.
func (s *Server) MoveMessage(mailbox, folder string, uid uint32, dest string) (newUID uint32, err error) {
	err = s.withMessage(mailbox, folder, uid, func(sess *imapmemserver.UserSession, uids imap.UIDSet) error {
		data, err := sess.Copy(uids, folderName(dest))
		if err != nil {
			return err
		}
		if len(data.DestUIDs) != 1 || data.DestUIDs[0].Start != data.DestUIDs[0].Stop {
			return fmt.Errorf("copy gave UIDs %v", data.DestUIDs)
		}
		newUID = uint32(data.DestUIDs[0].Start)
		return expunge(sess, uids)
	})
	return newUID, err
}

// ExpungeMessage removes message uid from folder for good.
func (s *Server) ExpungeMessage(mailbox, folder string, uid uint32) error {
	return s.withMessage(mailbox, folder, uid, expunge)
}

// expunge marks uids \Deleted and expunges them, and only them.
func expunge(sess *imapmemserver.UserSession, uids imap.UIDSet) error {
	deleted := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := sess.Store(nil, uids, deleted, &imap.StoreOptions{}); err != nil {
		return err
	}
	return sess.Expunge(nil, &uids)
}

// withMessage selects folder in a session of mailbox's own, checks that
// uid is there and runs f on it.
func (s *Server) withMessage(mailbox, folder string, uid uint32, f func(*imapmemserver.UserSession, imap.UIDSet) error) error {
	u, err := s.existing(mailbox)
	if err != nil {
		return err
	}
	sess := imapmemserver.NewUserSession(u)
	defer sess.Close()
	if _, err := sess.Select(folderName(folder), nil); err != nil {
		return fmt.Errorf("imapd: select %q in %s: %w", folder, mailbox, err)
	}
	uids := imap.UIDSetNum(imap.UID(uid))
	found, err := sess.Search(imapserver.NumKindUID, &imap.SearchCriteria{UID: []imap.UIDSet{uids}}, &imap.SearchOptions{})
	if err != nil {
		return fmt.Errorf("imapd: search %q in %s: %w", folder, mailbox, err)
	}
	if set, ok := found.All.(imap.UIDSet); !ok || !set.Contains(imap.UID(uid)) {
		return fmt.Errorf("imapd: message %d in %q of %s: %w", uid, folder, mailbox, ErrNoMessage)
	}
	if err := f(sess, uids); err != nil {
		return fmt.Errorf("imapd: message %d in %q of %s: %w", uid, folder, mailbox, err)
	}
	return nil
}
