package mailin

import (
	"context"
	"io"

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
	var deleted []string
	var firstErr error
	for _, id := range ids {
		present[id.UID] = true
		if ctx.Err() != nil {
			break
		}
		out, err := r.deliverer.deliver(ctx, id.UID, func() (io.ReadCloser, error) { return c.Retr(id.Num) })
		if err != nil {
			st.failed++
			if firstErr == nil {
				firstErr = err
			}
			if isConnErr(err) {
				break
			}
			continue
		}
		st.count(out)
		if r.cfg.AfterDelivery == taskconf.AfterDelete {
			if err := c.Dele(id.Num); err != nil {
				firstErr = err
				break
			}
			deleted = append(deleted, id.UID)
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
		recs, err := r.store.Deliveries(context.WithoutCancel(ctx), r.key)
		if err != nil {
			return err
		}
		for _, d := range recs {
			if !present[d.UID] {
				gone = append(gone, d.UID)
			}
		}
	}
	if err := r.store.ForgetDeliveries(context.WithoutCancel(ctx), r.key, gone); err != nil {
		return err
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}
