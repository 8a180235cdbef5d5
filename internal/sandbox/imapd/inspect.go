package imapd

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// inspector reads mailboxes for tests. imapmemserver exposes messages only
// through the IMAP protocol, so the inspector is an IMAP server of its own,
// reachable only through in-process pipes, whose connections start out
// logged in (PREAUTH) to the mailbox named when dialing.
type inspector struct {
	ln *pipeListener
}

// inspectTimeout bounds one inspection, so that a bug shows as an error
// instead of a test that hangs.
const inspectTimeout = 30 * time.Second

func newInspector(s *Server) *inspector {
	in := &inspector{ln: newPipeListener()}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			pc, ok := c.NetConn().(*pipeConn)
			if !ok {
				return nil, nil, errors.New("inspector connection is not a pipe")
			}
			u, err := s.existing(pc.mailbox)
			if err != nil {
				return nil, nil, err
			}
			return imapmemserver.NewUserSession(u), &imapserver.GreetingData{PreAuth: true}, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       printfLogger{s.log.With("inspector", true)},
	})
	go func() { _ = srv.Serve(in.ln) }()
	return in
}

// close stops the inspector. Its connections are closed by messages
// itself, so closing the listener is enough (and imapserver.Server.Close is
// avoided for the reason given at mailauth.Conns).
func (in *inspector) close() {
	in.ln.Close()
}

// client opens a connection logged in to mailbox, bounded by
// inspectTimeout; the caller closes it.
func (in *inspector) client(mailbox string) (*imapclient.Client, error) {
	conn, err := in.ln.dial(mailbox)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Now().Add(inspectTimeout)); err != nil {
		conn.Close()
		return nil, err
	}
	c := imapclient.New(conn, nil)
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// messages fetches the messages of folder whose UIDs are in uids (every
// message for 1:*): UID, flags, internal date and the whole message with
// BODY.PEEK[], which leaves \Seen alone.
func (in *inspector) messages(mailbox, folder string, uids imap.UIDSet) ([]Message, error) {
	_, msgs, err := in.fetch(mailbox, folder, uids, true)
	return msgs, err
}

// fetch is messages with the folder's UIDVALIDITY (read in the same
// SELECT), and without the messages' contents (Raw nil) unless withBody.
func (in *inspector) fetch(mailbox, folder string, uids imap.UIDSet, withBody bool) (uint32, []Message, error) {
	c, err := in.client(mailbox)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()

	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return 0, nil, err
	}
	if sel.NumMessages == 0 {
		return sel.UIDValidity, nil, nil
	}
	opt := &imap.FetchOptions{UID: true, Flags: true, InternalDate: true}
	body := &imap.FetchItemBodySection{Peek: true}
	if withBody {
		opt.BodySection = []*imap.FetchItemBodySection{body}
	}
	bufs, err := c.Fetch(uids, opt).Collect()
	if err != nil {
		return 0, nil, err
	}
	msgs := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		flags := slices.Clone(b.Flags)
		slices.Sort(flags)
		m := Message{
			UID:          uint32(b.UID),
			Flags:        flags,
			InternalDate: b.InternalDate,
		}
		if withBody {
			m.Raw = b.FindBodySection(body)
		}
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(a, b Message) int { return cmp.Compare(a.UID, b.UID) })
	_ = c.Logout().Wait()
	return sel.UIDValidity, msgs, nil
}

// folders lists mailbox's folders.
func (in *inspector) folders(mailbox string) ([]string, error) {
	c, err := in.client(mailbox)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, l := range list {
		out = append(out, l.Mailbox)
	}
	_ = c.Logout().Wait()
	return out, nil
}

// pipeListener is a net.Listener whose connections are in-process pipes.
type pipeListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

// pipeConn is the server end of a pipe; it carries the mailbox the
// connection is for, since there is no login to name it.
type pipeConn struct {
	net.Conn
	mailbox string
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) dial(mailbox string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- &pipeConn{Conn: server, mailbox: mailbox}:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, fmt.Errorf("inspect %s: %w", mailbox, net.ErrClosed)
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "imapd-inspector" }
