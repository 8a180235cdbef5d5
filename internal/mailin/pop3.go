package mailin

import (
	"context"
	"io"
	"slices"
	"time"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/pop3"
	"mailtokens/internal/taskconf"
)

// pop3Pass receives every message of the maildrop not delivered before,
// deletes (DELE) what is delivered when asked to, and commits with QUIT.
func (r *Receiver) pop3Pass(ctx context.Context, c *pop3.Client, st *passStats) error {
	ids, err := c.UIDL()
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[id.UID] = true
	}
	if ids, err = r.pop3WithinSize(c, ids, st); err != nil {
		return err
	}
	var deleted []string
	var firstErr error
	for batch := range slices.Chunk(ids, batchSize) {
		if ctx.Err() != nil {
			break
		}
		uids := make([]string, len(batch))
		for i, id := range batch {
			uids[i] = id.UID
		}
		items, err := r.deliverer.begin(ctx, uids)
		if err != nil {
			return err
		}
		stop := false
		for i, it := range items {
			if !it.done && ctx.Err() == nil {
				num := batch[i].Num
				if err := r.deliverer.write(ctx, it, func() (io.ReadCloser, error) { return r.retr(c, num) }); err != nil {
					st.failed++
					if firstErr == nil {
						firstErr = err
					}
					if stop = lost(c, err); stop {
						break
					}
				}
			}
			// DELE takes effect only at QUIT, which comes after every
			// batch is recorded delivered.
			if it.done && r.cfg.AfterDelivery == taskconf.AfterDelete {
				if err := c.Dele(batch[i].Num); err != nil {
					firstErr, stop = err, true
					break
				}
				deleted = append(deleted, it.rec.UID)
			}
		}
		if err := r.deliverer.end(ctx, items); err != nil {
			return err
		}
		st.add(items)
		if stop {
			return firstErr // no QUIT: nothing is deleted
		}
	}
	// QUIT commits the deletions. If it fails they may not have happened;
	// the records stay, so the messages are recognised next time.
	if err := c.Quit(); err != nil {
		if firstErr == nil {
			firstErr = err
		}
		return firstErr
	}
	st.acted += len(deleted)
	// Forget what is gone from the server: deleted now, or (KEEP)
	// removed by someone else.
	gone := deleted
	if r.cfg.AfterDelivery == taskconf.AfterKeep {
		recs, err := r.ledger.Deliveries(context.WithoutCancel(ctx), r.key)
		if err != nil {
			return err
		}
		for _, d := range recs {
			if !present[d.UID] {
				gone = append(gone, d.UID)
			}
		}
	}
	if err := r.ledger.ForgetDeliveries(context.WithoutCancel(ctx), r.key, gone); err != nil {
		return err
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// retr opens message num, to be read no further than the size limit: past
// it, the connection is closed rather than drained.
func (r *Receiver) retr(c *pop3.Client, num int) (io.ReadCloser, error) {
	body, err := c.Retr(num)
	if err != nil {
		return nil, err
	}
	return capBody(body, r.cfg.MaxMessageSize, func() { c.Close() }), nil
}

// pop3Protocol receives over POP3.
type pop3Protocol struct{ r *Receiver }

// pop3Session is a logged-in POP3 connection. A pass ends it with QUIT,
// which commits the deletions; Close without QUIT deletes nothing.
type pop3Session struct {
	r *Receiver
	c *pop3.Client
}

func (p pop3Protocol) connect(ctx context.Context) (session, error) {
	release, err := p.r.task.Login(ctx)
	if err != nil {
		return nil, err
	}
	c, err := mailconn.DialPOP3(ctx, p.r.task.Server, p.r.task.Auth, mailconn.Options{Logger: p.r.log})
	release()
	if err != nil {
		return nil, err
	}
	return &pop3Session{r: p.r, c: c}, nil
}

func (s *pop3Session) pass(ctx context.Context, st *passStats) error {
	return s.r.pop3Pass(ctx, s.c, st)
}
func (s *pop3Session) idles() bool                               { return false }
func (s *pop3Session) idle(context.Context, time.Duration) error { return nil }
func (s *pop3Session) old() bool                                 { return false }
func (s *pop3Session) logout()                                   {} // the pass ended with QUIT
func (s *pop3Session) close()                                    { s.c.Close() }
