package pop3

import (
	"fmt"
	"io"
	"strconv"
)

// The TRANSACTION state: what a logged-in client does with the maildrop.
// Message numbers are the server's for this session, 1 to the count STAT
// gives; UIDL maps them to ids that stay the same across sessions.

// MessageID is a line of the UIDL listing.
type MessageID struct {
	Num int
	UID string
}

// MessageSize is a line of the LIST listing.
type MessageSize struct {
	Num  int
	Size int64 // octets on the wire, CRLF line endings, before dot-stuffing
}

// Stat returns the number of messages and their total size in octets,
// leaving out messages marked for deletion.
func (c *Client) Stat() (count int, size int64, err error) {
	text, err := c.cmd("STAT", "STAT")
	if err != nil {
		return 0, 0, err
	}
	count, size, err = parseStat(text)
	if err != nil {
		// The reply was one line and has been read: the connection is
		// still in step, so this is not fatal to the Client.
		return 0, 0, fmt.Errorf("pop3 STAT: %w", err)
	}
	return count, size, nil
}

// UIDL returns the unique id of every message not marked for deletion. The
// ids are what a worker records to recognise a message it has already
// delivered when it sees it again. A line that is not "number uid" (with the
// id in printable ASCII, as RFC 1939 requires) makes UIDL fail, after the
// whole listing has been read.
func (c *Client) UIDL() ([]MessageID, error) {
	if _, err := c.cmd("UIDL", "UIDL"); err != nil {
		return nil, err
	}
	var ids []MessageID
	err := c.lines("UIDL", func(line string) error {
		id, err := parseUIDLine(line)
		ids = append(ids, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// List returns the size of every message not marked for deletion.
func (c *Client) List() ([]MessageSize, error) {
	if _, err := c.cmd("LIST", "LIST"); err != nil {
		return nil, err
	}
	var sizes []MessageSize
	err := c.lines("LIST", func(line string) error {
		s, err := parseListLine(line)
		sizes = append(sizes, s)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sizes, nil
}

// Retr retrieves message num as a stream. The reader undoes dot-stuffing,
// has no line length limit, turns CRLF into "\n", and holds no more than a
// buffer of the message at a time. A connection that breaks before the
// message's end makes Read return an error wrapping io.ErrUnexpectedEOF,
// never a quiet io.EOF, so a truncated message cannot pass for a whole one.
// No other command may be sent until the reader has returned io.EOF or been
// closed; Close reads the rest of the message so that the connection stays
// usable.
func (c *Client) Retr(num int) (io.ReadCloser, error) {
	return c.openBody("RETR", num, "")
}

// Top retrieves the headers of message num and the first lines of its body
// (TOP, RFC 1939's optional command that Exchange and Gmail both offer), as
// a stream like Retr's.
func (c *Client) Top(num, lines int) (io.ReadCloser, error) {
	if lines < 0 {
		return nil, fmt.Errorf("pop3 TOP: %d lines", lines)
	}
	return c.openBody("TOP", num, " "+strconv.Itoa(lines))
}

func (c *Client) openBody(verb string, num int, more string) (io.ReadCloser, error) {
	if num < 1 {
		return nil, fmt.Errorf("pop3 %s: message number %d", verb, num)
	}
	command := verb + " " + strconv.Itoa(num) + more
	if _, err := c.cmd(command, command); err != nil {
		return nil, err
	}
	c.body = &messageReader{c: c, command: command, r: newDotReader(c.r.R)}
	return c.body, nil
}

// Dele marks message num for deletion. The server removes it only when the
// session ends with a successful Quit; Rset or a broken connection undo the
// mark.
func (c *Client) Dele(num int) error {
	if num < 1 {
		return fmt.Errorf("pop3 DELE: message number %d", num)
	}
	command := "DELE " + strconv.Itoa(num)
	_, err := c.cmd(command, command)
	return err
}

// Rset removes every deletion mark of this session.
func (c *Client) Rset() error {
	_, err := c.cmd("RSET", "RSET")
	return err
}

// Noop does nothing; it checks that the server is still there.
func (c *Client) Noop() error {
	_, err := c.cmd("NOOP", "NOOP")
	return err
}
