package mailin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/taskconf"
)

// batchSize is how many messages are fetched before they are dealt with on
// the server (\Seen, MOVE, DELETE) and the state is advanced.
const batchSize = 50

// imapPass receives every message above the folder's last processed UID.
func (r *Receiver) imapPass(ctx context.Context, c *mailconn.IMAPClient, st *passStats) error {
	sel, err := c.Select(r.cfg.Folder, nil).Wait()
	if err != nil {
		return fmt.Errorf("select %s: %w", r.cfg.Folder, err)
	}
	state, err := r.ledger.MailboxState(ctx, r.key)
	if err != nil {
		return err
	}
	if state.UIDValidity != sel.UIDValidity {
		fresh := MailboxState{UIDValidity: sel.UIDValidity}
		if state.UIDValidity != 0 {
			// The server renumbered the folder: our UIDs mean nothing now.
			// With SEEN, delivered messages are still there but \Seen:
			// below today's UIDNEXT, take only unseen ones, until the
			// mark passes it. With MOVE and DELETE they are gone anyway.
			r.log.Warn("the folder's UIDVALIDITY changed; starting over with the messages now in it",
				"folder", r.cfg.Folder, "old", state.UIDValidity, "new", sel.UIDValidity)
			if r.cfg.AfterDelivery == taskconf.AfterSeen {
				if fresh.SeenBelow, err = uidNext(c, sel); err != nil {
					return err
				}
			}
		}
		state = fresh
		if err := r.ledger.SetMailboxState(ctx, r.key, state); err != nil {
			return err
		}
	}
	if sel.NumMessages == 0 {
		return nil
	}
	// UID last+1:* always matches the highest UID even when it is lower:
	// searchedUIDs filters the answer.
	var set imap.UIDSet
	set.AddRange(imap.UID(state.LastUID+1), 0)
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{set}}
	if state.SeenBelow > state.LastUID+1 {
		// Unseen, or from SeenBelow on (spelled out: "*" would match the
		// highest UID below it).
		var above imap.UIDSet
		above.AddRange(imap.UID(state.SeenBelow), math.MaxUint32)
		criteria.Or = [][2]imap.SearchCriteria{{{NotFlag: []imap.Flag{imap.FlagSeen}}, {UID: []imap.UIDSet{above}}}}
	}
	found, err := c.UIDSearch(criteria, nil).Wait()
	if err != nil {
		return fmt.Errorf("search %s: %w", r.cfg.Folder, err)
	}
	// The folder cannot hold more messages than it says it has (EXISTS,
	// which may have grown since SELECT), nor UIDs from UIDNEXT on.
	limit := sel.NumMessages
	if mb := c.Mailbox(); mb != nil {
		limit = max(limit, mb.NumMessages)
	}
	uids := searchedUIDs(found.All, state.LastUID, uint32(sel.UIDNext), int(limit))
	uids, err = r.imapWithinSize(c, sel.UIDValidity, uids, st)
	if err != nil {
		return err
	}
	for batch := range slices.Chunk(uids, batchSize) {
		if err := r.imapBatch(ctx, c, sel.UIDValidity, &state, batch, st); err != nil {
			return err
		}
	}
	return nil
}

// uidNext is the UID the folder's next message will get: UIDNEXT from
// SELECT, or for a server that omits it, one above its highest UID now.
func uidNext(c *mailconn.IMAPClient, sel *imap.SelectData) (uint32, error) {
	if sel.UIDNext != 0 {
		return uint32(sel.UIDNext), nil
	}
	var last imap.UIDSet
	last.AddRange(0, 0)
	found, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{last}}, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("search the highest UID: %w", err)
	}
	top := uint32(0)
	for _, u := range searchedUIDs(found.All, 0, 0, 1) {
		top = uint32(u)
	}
	return top + 1, nil
}

// searchedUIDs returns, in ascending order, the UIDs of the set a server
// sent that are above after and below uidNext (0: unknown): the lowest
// limit of them. The set is walked range by range, never expanded:
// go-imap's UIDSet.Nums and SearchData.AllUIDs loop forever on a range
// ending at 2^32-1, and one range may name four billion UIDs.
func searchedUIDs(set imap.NumSet, after, uidNext uint32, limit int) []imap.UID {
	ranges, _ := set.(imap.UIDSet)
	top := uint32(math.MaxUint32)
	if uidNext > 0 {
		top = uidNext - 1
	}
	var rs []imap.UIDRange
	for _, r := range ranges {
		start, stop := uint32(r.Start), uint32(r.Stop)
		// "*" has no place in a reply; read it as the highest UID.
		if start == 0 {
			start = top
		}
		if stop == 0 {
			stop = top
		}
		if start > stop {
			start, stop = stop, start
		}
		if stop > top {
			stop = top
		}
		if stop > after && start <= stop {
			rs = append(rs, imap.UIDRange{Start: imap.UID(max(start, after+1)), Stop: imap.UID(stop)})
		}
	}
	slices.SortFunc(rs, func(a, b imap.UIDRange) int { return cmp.Compare(a.Start, b.Start) })
	var out []imap.UID
	next := uint64(after) + 1 // the lowest UID not taken yet
	for _, r := range rs {
		u := max(uint64(r.Start), next)
		for ; u <= uint64(r.Stop) && len(out) < limit; u++ {
			out = append(out, imap.UID(u))
		}
		next = max(next, u)
		if len(out) >= limit {
			break
		}
	}
	return out
}

// imapBatch delivers a batch, deals with the delivered messages on the
// server, and advances the state over the leading run of finished UIDs.
func (r *Receiver) imapBatch(ctx context.Context, c *mailconn.IMAPClient, validity uint32, state *MailboxState, batch []imap.UID, st *passStats) error {
	keys := make([]string, len(batch))
	for i, uid := range batch {
		keys[i] = strconv.FormatUint(uint64(validity), 10) + "/" + strconv.FormatUint(uint64(uid), 10)
	}
	items, err := r.deliverer.begin(ctx, keys)
	if err != nil {
		return err
	}
	var firstErr error
	for i, it := range items {
		if it.done {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		uid := batch[i]
		err := safely(c, r.log, fmt.Sprintf("receiving UID %d", uid), func() error {
			return r.deliverer.write(ctx, it, func() (io.ReadCloser, error) { return fetchBody(c, uid) })
		})
		if errors.Is(err, errGone) {
			// Not done: the mark stays below it, and the next SEARCH
			// no longer names it.
			r.log.Warn(err.Error())
			st.gone++
			continue
		}
		if err != nil {
			st.failed++
			if firstErr == nil {
				firstErr = err
			}
			if lost(c, err) {
				break // the connection is gone; what was written is recorded below
			}
		}
	}
	if err := r.deliverer.end(ctx, items); err != nil {
		return err
	}
	st.add(items)
	if firstErr != nil && lost(c, firstErr) {
		// No server actions, no state: the delivered messages are
		// recognised on the next connection.
		return firstErr
	}
	var done []imap.UID
	for i, it := range items {
		if it.done {
			done = append(done, batch[i])
		}
	}
	if len(done) > 0 {
		if err := r.imapAfter(c, done); err != nil {
			return err
		}
		st.acted += len(done)
	}
	// Advance over the finished prefix only: a failed UID must be tried
	// again, and the delivered ones after it are recognised then.
	next := state.LastUID
	for i := range batch {
		if !items[i].done {
			break
		}
		next = uint32(batch[i])
	}
	if next != state.LastUID {
		state.LastUID = next
		if state.SeenBelow != 0 && state.LastUID+1 >= state.SeenBelow {
			state.SeenBelow = 0 // every UID below it is dealt with
		}
		if err := r.ledger.SetMailboxState(context.WithoutCancel(ctx), r.key, *state); err != nil {
			return err
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// fetchBody streams one message: BODY.PEEK[] (so fetching does not set
// \Seen), never collected in memory. The body ends cleanly only when every
// byte the server announced has arrived and the FETCH completed with OK;
// anything less reads as an error, never as the end of the message.
func fetchBody(c *mailconn.IMAPClient, uid imap.UID) (io.ReadCloser, error) {
	cmd := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	gone := func() error {
		if err := cmd.Close(); err != nil {
			return err
		}
		return fmt.Errorf("message UID %d: %w", uid, errGone)
	}
	msg := cmd.Next()
	if msg == nil {
		return nil, gone()
	}
	for {
		item := msg.Next()
		if item == nil {
			return nil, gone()
		}
		if body, ok := item.(imapclient.FetchItemDataBodySection); ok {
			if body.Literal == nil { // BODY[] NIL
				return nil, gone()
			}
			c.Streaming(body.Literal.Size())
			return &fetchReader{c: c, lit: body.Literal, cmd: cmd, uid: uid}, nil
		}
	}
}

// errGone is a message that vanished between SEARCH and FETCH (another
// client expunged it): the server sent no body for it, or NIL.
var errGone = errors.New("gone from the server before it could be fetched (expunged by another client?); skipped")

// safely runs f, turning a panic into an error: a server's reply that
// trips up the protocol library costs the connection, not the worker.
func safely(c io.Closer, log *slog.Logger, what string, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.Close()
			log.Error("the server's reply crashed "+what+"; closing the connection", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: the server's reply caused a crash: %v", what, v)
		}
	}()
	return f()
}

// fetchReader is a message body being received. It counts the bytes:
// go-imap's literal is a limited reader, which reports a connection that
// ends early as a clean end of file. At the end, it finishes the FETCH
// command before it reports the end.
type fetchReader struct {
	c      io.Closer // the connection
	lit    imap.LiteralReader
	cmd    *imapclient.FetchCommand
	uid    imap.UID
	n      int64
	closed bool
	err    error // of Close
}

func (f *fetchReader) Read(p []byte) (int, error) {
	if f.closed {
		return 0, f.err
	}
	n, err := f.next(p)
	if err == io.EOF {
		if cerr := f.Close(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// next reads on: io.EOF only when every byte announced has arrived.
func (f *fetchReader) next(p []byte) (int, error) {
	n, err := f.lit.Read(p)
	f.n += int64(n)
	switch {
	case err == io.EOF && f.n < f.lit.Size():
		return n, f.abandon(fmt.Errorf("message UID %d: %w: the connection ended after %d of the %d bytes announced",
			f.uid, io.ErrUnexpectedEOF, f.n, f.lit.Size()))
	case err != nil && err != io.EOF:
		return n, f.abandon(fmt.Errorf("message UID %d: %w", f.uid, err))
	}
	return n, err
}

// abandon gives up the connection after a body that ended short: go-imap
// reads on as if the body were whole, so neither its FETCH nor the body
// may be touched again (they would read the connection beside it).
func (f *fetchReader) abandon(err error) error {
	f.closed, f.err = true, err
	f.c.Close()
	return err
}

// Close finishes the FETCH command (draining what was not read); its error
// says whether the server completed it.
func (f *fetchReader) Close() error {
	if f.closed {
		return f.err
	}
	buf := make([]byte, 32<<10)
	for {
		_, err := f.next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	f.closed = true
	if err := f.cmd.Close(); err != nil {
		f.err = fmt.Errorf("message UID %d: the server did not complete the FETCH: %w", f.uid, err)
	}
	return f.err
}

// imapAfter marks, moves or deletes delivered messages.
func (r *Receiver) imapAfter(c *mailconn.IMAPClient, uids []imap.UID) error {
	set := imap.UIDSetNum(uids...)
	switch r.cfg.AfterDelivery {
	case taskconf.AfterMove:
		if err := r.ensureFolder(c, r.cfg.MoveTo); err != nil {
			return err
		}
		if c.Caps().Has(imap.CapMove) {
			if _, err := c.Move(set, r.cfg.MoveTo).Wait(); err != nil {
				return fmt.Errorf("move delivered messages to %s: %w", r.cfg.MoveTo, err)
			}
			return nil
		}
		// Without MOVE: COPY, then delete — one step after the other.
		// go-imap's own fallback sends all three at once, so a failed
		// COPY would still delete the messages.
		if _, err := c.Copy(set, r.cfg.MoveTo).Wait(); err != nil {
			return fmt.Errorf("copy delivered messages to %s: %w", r.cfg.MoveTo, err)
		}
		return r.remove(c, set)
	case taskconf.AfterDelete:
		return r.remove(c, set)
	default:
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			return fmt.Errorf("mark delivered messages seen: %w", err)
		}
	}
	return nil
}

// remove deletes messages: \Deleted, then UID EXPUNGE (or EXPUNGE,
// which also removes what others flagged, when the server lacks UIDPLUS).
func (r *Receiver) remove(c *mailconn.IMAPClient, set imap.UIDSet) error {
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return fmt.Errorf("flag delivered messages deleted: %w", err)
	}
	var err error
	if c.Caps().Has(imap.CapUIDPlus) {
		err = c.UIDExpunge(set).Close()
	} else {
		err = c.Expunge().Close()
	}
	if err != nil {
		return fmt.Errorf("expunge delivered messages: %w", err)
	}
	return nil
}

// ensureFolder creates the MOVE target when it does not exist yet (checked
// once per connection).
func (r *Receiver) ensureFolder(c *mailconn.IMAPClient, folder string) error {
	if r.folderReady == c {
		return nil
	}
	if _, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait(); err == nil {
		r.folderReady = c
		return nil
	}
	if err := c.Create(folder, nil).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return nil
		}
		return fmt.Errorf("create folder %s for MOVE: %w", folder, err)
	}
	r.log.Info("created the folder for delivered mail", "folder", folder)
	r.folderReady = c
	return nil
}

// idle waits for new mail with IDLE, up to max; it reports whether mail
// arrived (false: max passed or ctx ended).
func (r *Receiver) idle(ctx context.Context, c *mailconn.IMAPClient, arrived <-chan struct{}, max time.Duration) error {
	c.Watchdog(max + time.Minute)
	defer c.Watchdog(r.opTimeout)
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-arrived:
	case <-t.C:
	case <-ctx.Done():
	case <-c.Closed():
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	return cmd.Wait()
}

// imapProtocol receives over IMAP.
type imapProtocol struct{ r *Receiver }

// imapSession is a logged-in IMAP connection; arrived hears of new mail
// while it idles.
type imapSession struct {
	r        *Receiver
	c        *mailconn.IMAPClient
	arrived  chan struct{}
	openedAt time.Time
}

func (p imapProtocol) connect(ctx context.Context) (session, error) {
	s := &imapSession{r: p.r, arrived: make(chan struct{}, 1), openedAt: time.Now()}
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				select {
				case s.arrived <- struct{}{}:
				default:
				}
			}
		},
	}}
	release, err := p.r.task.Login(ctx)
	if err != nil {
		return nil, err
	}
	c, err := mailconn.DialIMAP(ctx, p.r.task.Server, p.r.task.Auth, mailconn.Options{Logger: p.r.log}, opts)
	release()
	if err != nil {
		return nil, err
	}
	c.Watchdog(p.r.opTimeout)
	s.c = c
	return s, nil
}

func (s *imapSession) pass(ctx context.Context, st *passStats) error {
	return s.r.imapPass(ctx, s.c, st)
}
func (s *imapSession) idles() bool { return s.c.Caps().Has(imap.CapIdle) }
func (s *imapSession) old() bool   { return time.Since(s.openedAt) > s.r.maxSession }
func (s *imapSession) logout()     { s.c.Logout().Wait() }
func (s *imapSession) close()      { s.c.Close() }

func (s *imapSession) idle(ctx context.Context, max time.Duration) error {
	return s.r.idle(ctx, s.c, s.arrived, max)
}
