package mailin

import (
	"context"
	"errors"
	"io"
	"slices"

	"mailtokens/internal/gmailapi"
	"mailtokens/internal/taskconf"
)

// gmailProtocol receives a label over the Gmail API. The cursor is the
// mailbox's history id: the first pass (or one after Gmail forgot the
// history) takes the current history id from the profile, then lists
// every message with the label; later passes read the label's history
// from the stored id. Each new message is fetched raw, written and
// recorded before it is marked read, relabelled or trashed; the new
// history id is stored only once every message it covers is dealt with.
// Gmail message ids do not change with labels, so the ledger recognises
// a message listed again.
type gmailProtocol struct {
	r   *Receiver
	c   *gmailapi.Client
	ids folderIDs
}

type gmailSession struct {
	stateless
	r             *Receiver
	c             *gmailapi.Client
	ids           *folderIDs
	label, moveTo string   // label ids
	left          []string // messages this pass moved out of the label or trashed
}

func (p *gmailProtocol) connect(ctx context.Context) (session, error) {
	s := &gmailSession{r: p.r, c: p.c, ids: &p.ids}
	var err error
	s.label, s.moveTo, err = p.ids.task(ctx, p.r)
	return s, err
}

func (s *gmailSession) pass(ctx context.Context, st *passStats) (err error) {
	defer func() { s.ids.failed(err) }()
	r := s.r
	stored, err := r.ledger.Cursor(ctx, r.key)
	if err != nil {
		return err
	}
	var ids []string
	s.left = nil
	next := stored
	if stored != "" {
		ids, next, err = s.history(ctx, stored)
		if gmailapi.HistoryGone(err) {
			r.log.Warn("Gmail no longer has the history from the stored id; reading the label from the start", "label", r.cfg.Folder)
			stored = ""
		} else if err != nil {
			return err
		}
	}
	if stored == "" {
		// The history id first: what arrives while the label is listed
		// is in the history after it.
		if next, err = s.c.Profile(ctx); err != nil {
			return err
		}
		if ids, err = s.listAll(ctx); err != nil {
			return err
		}
		// What is not in the label any more needs no record: a full
		// listing would not show it again.
		if err := s.forgetAbsent(ctx, ids); err != nil {
			return err
		}
	}
	var firstErr error
	for batch := range slices.Chunk(ids, batchSize) {
		if err := s.batch(ctx, batch, st); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil || !errors.As(err, new(*messageError)) {
				return firstErr
			}
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if next != stored {
		if err := r.ledger.SetCursor(context.WithoutCancel(ctx), r.key, next); err != nil {
			return err
		}
	}
	// Moved out or trashed, and the history now starts after their
	// arrival: no read will list them again.
	return r.ledger.ForgetDeliveries(context.WithoutCancel(ctx), r.key, s.left)
}

// forgetAbsent forgets the records of messages not among ids.
func (s *gmailSession) forgetAbsent(ctx context.Context, ids []string) error {
	recs, err := s.r.ledger.Deliveries(ctx, s.r.key)
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[id] = true
	}
	var gone []string
	for _, d := range recs {
		if !present[d.UID] && d.State == DeliveryDelivered {
			gone = append(gone, d.UID)
		}
	}
	return s.r.ledger.ForgetDeliveries(context.WithoutCancel(ctx), s.r.key, gone)
}

// history collects the messages that came into the label since start,
// over every page, and the history id to store after them.
func (s *gmailSession) history(ctx context.Context, start string) (ids []string, next string, err error) {
	token := ""
	for {
		p, err := s.c.History(ctx, s.label, start, token)
		if err != nil {
			return nil, "", err
		}
		ids = append(ids, p.Added...)
		if p.HistoryID != "" {
			next = p.HistoryID
		}
		if token = p.Next; token == "" {
			return dedupe(ids), next, nil
		}
	}
}

// listAll lists every message with the label, oldest last as Gmail
// lists them; they are delivered oldest first.
func (s *gmailSession) listAll(ctx context.Context) ([]string, error) {
	var ids []string
	token := ""
	for {
		page, next, err := s.c.List(ctx, s.label, token)
		if err != nil {
			return nil, err
		}
		ids = append(ids, page...)
		if token = next; token == "" {
			slices.Reverse(ids)
			return dedupe(ids), nil
		}
	}
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (s *gmailSession) batch(ctx context.Context, ids []string, st *passStats) error {
	fetch := func(ctx context.Context, id string) (io.ReadCloser, error) {
		return s.c.Raw(ctx, id, s.r.cfg.MaxMessageSize)
	}
	acted, err := apiBatch{r: s.r, fetch: fetch, after: s.after}.run(ctx, ids, st)
	if s.r.cfg.AfterDelivery != taskconf.AfterSeen {
		s.left = append(s.left, acted...)
	}
	return err
}

// after marks a delivered message read, moves it to another label or
// trashes it, as the task says.
func (s *gmailSession) after(ctx context.Context, id string) error {
	switch s.r.cfg.AfterDelivery {
	case taskconf.AfterMove:
		return s.c.Modify(ctx, id, []string{s.moveTo}, []string{s.label, "UNREAD"})
	case taskconf.AfterDelete:
		return s.c.Trash(ctx, id)
	}
	return s.c.Modify(ctx, id, nil, []string{"UNREAD"})
}
