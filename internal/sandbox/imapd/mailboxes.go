package imapd

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/provider"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Message is a message as the server stores it.
type Message struct {
	UID uint32
	// Flags are sorted. System flags have their usual spelling (\Seen);
	// keywords come back lowercased, as imapmemserver stores them.
	Flags        []imap.Flag
	InternalDate time.Time
	// Raw is the message exactly as appended.
	Raw []byte
}

// standardFolders are created with every mailbox, so that a client moving
// mail to "Archive" or "[Gmail]/Trash" finds what it would find at the
// real service.
var standardFolders = map[provider.Type][]string{
	provider.Microsoft: {"INBOX", "Archive", "Deleted Items", "Drafts", "Junk Email", "Outbox", "Sent Items"},
	provider.Google:    {"INBOX", "[Gmail]/All Mail", "[Gmail]/Drafts", "[Gmail]/Sent Mail", "[Gmail]/Spam", "[Gmail]/Trash"},
}

// folderName spells INBOX the one way imapmemserver knows it; IMAP makes
// that one name case-insensitive, and imapserver canonicalizes it in
// commands.
func folderName(folder string) string {
	if strings.EqualFold(folder, "INBOX") {
		return "INBOX"
	}
	return folder
}

// AddMailbox creates mailbox with its standard folders, if it does not
// exist yet. Logging in creates a mailbox too; tests call this to fill it
// first.
func (s *Server) AddMailbox(mailbox string) {
	s.mailbox(mailbox)
}

// mailbox returns mailbox's store, creating it on first use.
func (s *Server) mailbox(mailbox string) *imapmemserver.User {
	name := normalize(mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mailboxes[name]
	if u == nil {
		// imapmemserver's password login is never used: sessions are
		// opened by this package after the Directory said yes.
		u = imapmemserver.NewUser(name, "")
		for _, f := range standardFolders[s.opt.Style] {
			_ = u.Create(f, nil) // cannot fail: the user is new
		}
		s.mailboxes[name] = u
	}
	return u
}

// existing returns mailbox's store, or an error if nobody created it.
func (s *Server) existing(mailbox string) (*imapmemserver.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mailboxes[normalize(mailbox)]
	if u == nil {
		return nil, fmt.Errorf("imapd: no mailbox %q", mailbox)
	}
	return u, nil
}

// CreateFolder creates folder in mailbox (and mailbox if needed). A folder
// that exists already is not an error.
func (s *Server) CreateFolder(mailbox, folder string) error {
	err := s.mailbox(mailbox).Create(folderName(folder), nil)
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
		return nil
	}
	if err != nil {
		return fmt.Errorf("imapd: create %q in %s: %w", folder, mailbox, err)
	}
	return nil
}

// Append stores msg in folder of mailbox, creating both if needed, with
// flags, and returns its UID. Clients with the folder selected see it at
// their next command or in IDLE.
func (s *Server) Append(mailbox, folder string, msg []byte, flags ...imap.Flag) (uid uint32, err error) {
	if err := s.CreateFolder(mailbox, folder); err != nil {
		return 0, err
	}
	return s.appendTo(s.mailbox(mailbox), mailbox, folder, msg, &imap.AppendOptions{Flags: flags})
}

func (s *Server) appendTo(u *imapmemserver.User, mailbox, folder string, msg []byte, opt *imap.AppendOptions) (uint32, error) {
	// imapmemserver keeps the slice it is given; copy so that the caller
	// may reuse msg.
	data, err := u.Append(folderName(folder), bytes.NewReader(bytes.Clone(msg)), opt)
	if err != nil {
		return 0, fmt.Errorf("imapd: append to %q in %s: %w", folder, mailbox, err)
	}
	return uint32(data.UID), nil
}

// UIDValidity returns folder's UIDVALIDITY.
func (s *Server) UIDValidity(mailbox, folder string) (uint32, error) {
	u, err := s.existing(mailbox)
	if err != nil {
		return 0, err
	}
	st, err := u.Status(folderName(folder), &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, fmt.Errorf("imapd: status of %q in %s: %w", folder, mailbox, err)
	}
	return st.UIDValidity, nil
}

// Messages returns the messages in folder of mailbox, by UID. It reads them
// over IMAP, through an in-process connection, because imapmemserver keeps
// its messages to itself; reading never sets \Seen.
func (s *Server) Messages(mailbox, folder string) ([]Message, error) {
	if _, err := s.existing(mailbox); err != nil {
		return nil, err
	}
	var all imap.UIDSet
	all.AddRange(1, 0) // 1:*
	msgs, err := s.inspect.messages(mailbox, folderName(folder), all)
	if err != nil {
		return nil, fmt.Errorf("imapd: messages in %q of %s: %w", folder, mailbox, err)
	}
	return msgs, nil
}

// RenumberFolder recreates folder with the same messages, flags and
// internal dates under a new UIDVALIDITY, with UIDs numbered afresh from 1,
// as a server does after its index was rebuilt, and returns the new
// UIDVALIDITY. A client
// that keys its "already delivered" state on UIDVALIDITY+UID sees every
// message as new and must recognise them some other way or deliver them
// twice. Connections that have the folder selected keep the old copy until
// they select it again. Tests call it while no client is appending.
func (s *Server) RenumberFolder(mailbox, folder string) (uint32, error) {
	msgs, err := s.Messages(mailbox, folder)
	if err != nil {
		return 0, err
	}
	if _, err := s.RecreateFolder(mailbox, folder); err != nil {
		return 0, err
	}
	u := s.mailbox(mailbox)
	for _, m := range msgs {
		if _, err := s.appendTo(u, mailbox, folder, m.Raw, &imap.AppendOptions{Flags: m.Flags, Time: m.InternalDate}); err != nil {
			return 0, err
		}
	}
	return s.UIDValidity(mailbox, folder)
}

// RecreateFolder deletes folder and creates it again, empty, under a new
// UIDVALIDITY, and returns that.
func (s *Server) RecreateFolder(mailbox, folder string) (uint32, error) {
	u, err := s.existing(mailbox)
	if err != nil {
		return 0, err
	}
	folder = folderName(folder)
	if err := u.Delete(folder); err != nil {
		return 0, fmt.Errorf("imapd: delete %q in %s: %w", folder, mailbox, err)
	}
	if err := u.Create(folder, nil); err != nil {
		return 0, fmt.Errorf("imapd: create %q in %s: %w", folder, mailbox, err)
	}
	return s.UIDValidity(mailbox, folder)
}
