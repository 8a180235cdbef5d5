package mailin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/pop3"
)

// MAILBOX_MAX_MESSAGE_SIZE: a message the server says is larger is left on
// the server and logged, once per process, with its size, and the task's
// note on the token's page says how many are left after every complete
// pass; one that turns out larger than it said is cut off and not
// delivered.

// tooLarge reports whether a message of size bytes (as the server counts
// them) is over the limit, logging it the first time.
func (r *Receiver) tooLarge(st *passStats, uid string, size int64) bool {
	limit := r.cfg.MaxMessageSize
	if limit <= 0 || size <= limit {
		return false
	}
	st.tooLarge++
	st.largest = max(st.largest, size)
	if !r.logged[uid] {
		r.logged[uid] = true
		r.log.Warn("a message larger than MAILBOX_MAX_MESSAGE_SIZE is left on the server",
			"uid", uid, "size", size, "limit", limit)
	}
	return true
}

// errGrewTooLarge is the delivery error of a message that kept coming past
// the limit although the server announced it smaller.
var errGrewTooLarge = errors.New("the message is larger than MAILBOX_MAX_MESSAGE_SIZE, although the server said it was smaller")

// capBody fails a body that goes past limit bytes (0: no limit), calling
// abandon first: draining the rest of a message without end would never
// finish, so the connection is given up instead.
func capBody(body io.ReadCloser, limit int64, abandon func()) io.ReadCloser {
	if limit <= 0 {
		return body
	}
	return &cappedBody{ReadCloser: body, left: limit, abandon: abandon}
}

type cappedBody struct {
	io.ReadCloser
	left    int64
	abandon func()
	err     error
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.ReadCloser.Read(p)
	if b.left -= int64(n); b.left < 0 {
		b.abandon()
		b.err = errGrewTooLarge
		return 0, b.err
	}
	return n, err
}

// pop3WithinSize leaves out of ids the messages over the limit, by the
// sizes LIST gives.
func (r *Receiver) pop3WithinSize(c *pop3.Client, ids []pop3.MessageID, st *passStats) ([]pop3.MessageID, error) {
	if r.cfg.MaxMessageSize <= 0 {
		return ids, nil
	}
	sizes, err := c.List()
	if err != nil {
		return nil, err
	}
	size := make(map[int]int64, len(sizes))
	for _, s := range sizes {
		size[s.Num] = s.Size
	}
	kept := ids[:0:0]
	for _, id := range ids {
		if !r.tooLarge(st, id.UID, size[id.Num]) {
			kept = append(kept, id)
		}
	}
	return kept, nil
}

// imapWithinSize leaves out of uids the messages over the limit, by their
// RFC822.SIZE.
func (r *Receiver) imapWithinSize(c *mailconn.IMAPClient, validity uint32, uids []imap.UID, st *passStats) ([]imap.UID, error) {
	if r.cfg.MaxMessageSize <= 0 || len(uids) == 0 {
		return uids, nil
	}
	cmd := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true})
	big := map[imap.UID]bool{}
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := msg.Collect()
		if err != nil {
			break // cmd.Close says why
		}
		if r.tooLarge(st, fmt.Sprintf("%d/%d", validity, buf.UID), buf.RFC822Size) {
			big[buf.UID] = true
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch the sizes of new messages: %w", err)
	}
	kept := uids[:0:0]
	for _, u := range uids {
		if !big[u] {
			kept = append(kept, u)
		}
	}
	return kept, nil
}

// noteSize keeps the task's note on messages left for their size, after a
// complete pass (one cut short has not seen every message). POP3 lists
// every message each pass, so a pass without one clears the note; IMAP
// passes over a UID for good, so its note stays (the page shows a note for
// a week after it was last set).
func (r *Receiver) noteSize(ctx context.Context, st passStats) {
	switch {
	case st.tooLarge > 0 && r.cfg.Protocol == mailserver.POP3:
		r.task.Note(ctx, fmt.Sprintf("%d message(s) larger than MAILBOX_MAX_MESSAGE_SIZE (%d bytes) are left on the server, the largest %d bytes: "+
			"raise the limit in the task file, or deal with them in the mailbox", st.tooLarge, r.cfg.MaxMessageSize, st.largest))
	case st.tooLarge > 0:
		r.task.Note(ctx, fmt.Sprintf("%d message(s) larger than MAILBOX_MAX_MESSAGE_SIZE (%d bytes) were left on the server, the largest %d bytes; "+
			"evmail does not fetch them later: deal with them in the mailbox (raise the limit first for newer ones)", st.tooLarge, r.cfg.MaxMessageSize, st.largest))
	case r.cfg.Protocol == mailserver.POP3:
		r.task.Note(ctx, "")
	}
}
