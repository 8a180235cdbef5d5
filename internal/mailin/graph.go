package mailin

import (
	"context"
	"errors"
	"slices"

	"mailtokens/internal/graph"
	"mailtokens/internal/taskconf"
)

// graphProtocol receives over Microsoft Graph: a delta query of the
// folder lists what arrived (or left) since the stored delta link; each
// new message's MIME is streamed to the destination and recorded before
// it is marked read, moved or deleted; the new delta link is stored only
// once every message it covers is delivered and dealt with. A crash
// anywhere repeats at most the last delta, whose messages the ledger
// recognises by their Graph id.
type graphProtocol struct {
	r   *Receiver
	c   *graph.Client
	ids folderIDs
}

// graphSession is the folder resolved; Graph has no connection to keep.
type graphSession struct {
	stateless
	r              *Receiver
	c              *graph.Client
	ids            *folderIDs
	folder, moveTo string // ids, or well-known names
}

func (p *graphProtocol) connect(ctx context.Context) (session, error) {
	s := &graphSession{r: p.r, c: p.c, ids: &p.ids}
	var err error
	s.folder, s.moveTo, err = p.ids.task(ctx, p.r)
	return s, err
}

// pass follows the delta from the stored link to its end.
func (s *graphSession) pass(ctx context.Context, st *passStats) (err error) {
	defer func() { s.ids.failed(err) }()
	r := s.r
	stored, err := r.ledger.Cursor(ctx, r.key)
	if err != nil {
		return err
	}
	link := stored
	var firstErr error
	for {
		page, err := s.c.Delta(ctx, s.folder, link)
		if graph.ResyncRequired(err) && link != "" {
			// Graph forgot the delta: read the whole folder again; the
			// ledger recognises what was delivered.
			r.log.Warn("Graph no longer knows the folder's delta link; reading the folder from the start", "folder", r.cfg.Folder)
			link = ""
			continue
		}
		if err != nil {
			return err
		}
		var present []graph.Message
		var gone []string
		for _, m := range page.Messages {
			if m.Removed != nil {
				gone = append(gone, m.ID)
			} else {
				present = append(present, m)
			}
		}
		for batch := range slices.Chunk(present, batchSize) {
			if err := s.batch(ctx, batch, st); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				if ctx.Err() != nil || !errors.As(err, new(*messageError)) {
					return firstErr
				}
			}
		}
		// Gone from the folder (moved, deleted, by us or anyone): its
		// record is no longer needed.
		if err := r.ledger.ForgetDeliveries(context.WithoutCancel(ctx), r.key, gone); err != nil {
			return err
		}
		if page.NextLink != "" {
			link = page.NextLink
			continue
		}
		if firstErr != nil {
			return firstErr // the same delta again next time
		}
		if page.DeltaLink != stored {
			return r.ledger.SetCursor(context.WithoutCancel(ctx), r.key, page.DeltaLink)
		}
		return nil
	}
}

// batch delivers the messages not delivered before, records them, then
// deals with every delivered one on the server.
func (s *graphSession) batch(ctx context.Context, msgs []graph.Message, st *passStats) error {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	_, err := apiBatch{r: s.r, fetch: s.c.MIME, after: s.after,
		// Delivered before and read since: our own mark (the delta lists
		// the change), nothing left to do. Still in the folder with MOVE
		// or DELETE: the action failed before, do it again.
		settled: func(i int) bool { return s.r.cfg.AfterDelivery == taskconf.AfterSeen && msgs[i].IsRead },
	}.run(ctx, ids, st)
	return err
}

// after marks a delivered message read, moves or deletes it, as the task
// says.
func (s *graphSession) after(ctx context.Context, id string) error {
	switch s.r.cfg.AfterDelivery {
	case taskconf.AfterMove:
		_, err := s.c.Move(ctx, id, s.moveTo)
		return err
	case taskconf.AfterDelete:
		return s.c.Delete(ctx, id)
	}
	return s.c.MarkRead(ctx, id)
}
