package mailconn

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
)

// MaxSMTPReply bounds what an SMTP server may send between two writes of
// ours: a reply, with every line of a multi-line one, and the TLS records
// that carry it (a STARTTLS handshake's certificates included). Real
// replies are a few hundred bytes, an EHLO list a few dozen lines.
const MaxSMTPReply = 1 << 20

// ErrReplyTooLong is wrapped by the error of a read that went past
// MaxSMTPReply: the server sent a line or a list without end.
var ErrReplyTooLong = errors.New("the server sent more than any reply needs (a line or list without end): broken or hostile server")

// replyLimitConn bounds go-mail's SMTP client, which reads lines and
// multi-line replies of any length into memory (net/textproto). SMTP
// without pipelining is lockstep: we write a command, the server replies.
// So whatever arrives between two writes is one reply, and counting those
// bytes bounds both a reply line's length and the number of its lines,
// whether the bytes are clear text or the TLS records go-mail's StartTLS
// lays on top of this connection.
type replyLimitConn struct {
	net.Conn
	read atomic.Int64 // bytes read since our last write
}

func (c *replyLimitConn) Read(p []byte) (int, error) {
	room := MaxSMTPReply - c.read.Load()
	if room <= 0 {
		return 0, fmt.Errorf("smtp: %w", ErrReplyTooLong)
	}
	n, err := c.Conn.Read(p[:min(int64(len(p)), room)])
	c.read.Add(int64(n))
	return n, err
}

func (c *replyLimitConn) Write(p []byte) (int, error) {
	c.read.Store(0)
	return c.Conn.Write(p)
}
