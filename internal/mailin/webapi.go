package mailin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"mailtokens/internal/bearer"
	"mailtokens/internal/taskconf"
)

// stateless is the part of a web API's session (Graph, the Gmail API)
// that has nothing to do: there is no connection to keep, wait on or end,
// and the worker polls.
type stateless struct{}

func (stateless) idles() bool                                     { return false }
func (stateless) idle(ctx context.Context, _ time.Duration) error { return nil }
func (stateless) old() bool                                       { return false }
func (stateless) logout()                                         {}
func (stateless) close()                                          {}

// folderIDs turns a task's folder names into a web API's ids, each once:
// a name is asked for again only after a pass failed (the folder may have
// been renamed or made anew), not at every poll.
type folderIDs struct {
	resolve func(ctx context.Context, name string) (string, error)
	ids     map[string]string
}

func (f *folderIDs) of(ctx context.Context, name string) (string, error) {
	if id, ok := f.ids[name]; ok {
		return id, nil
	}
	id, err := f.resolve(ctx, name)
	if err != nil {
		return "", err
	}
	if f.ids == nil {
		f.ids = map[string]string{}
	}
	f.ids[name] = id
	return id, nil
}

// task is the folder the task reads and, with MOVE, the one it moves to.
func (f *folderIDs) task(ctx context.Context, r *Receiver) (folder, moveTo string, err error) {
	if folder, err = f.of(ctx, r.cfg.Folder); err != nil || r.cfg.AfterDelivery != taskconf.AfterMove {
		return folder, "", err
	}
	moveTo, err = f.of(ctx, r.cfg.MoveTo)
	return folder, moveTo, err
}

// failed forgets the ids after a failed pass.
func (f *folderIDs) failed(err error) {
	if err != nil {
		f.ids = nil
	}
}

// messageError is a message that could not be delivered; the pass goes
// on with the others.
type messageError struct{ error }

func (e *messageError) Unwrap() error { return e.error }

// apiBatch is one batch of messages a web API listed, in the steps of
// "nothing lost, nothing doubled".
type apiBatch struct {
	r *Receiver
	// fetch opens a message's MIME; after deals with a delivered one on
	// the server (mark read, move, delete).
	fetch func(ctx context.Context, id string) (io.ReadCloser, error)
	after func(ctx context.Context, id string) error
	// settled, when set, says that message i, delivered by an earlier
	// pass, needs nothing more on the server.
	settled func(i int) bool
}

// gone says err is the API's 404: the message left since it was listed.
func gone(err error) bool {
	var e bearer.APIError
	return errors.As(err, &e) && e.HTTPStatus() == http.StatusNotFound
}

// run delivers the messages not delivered before, records them, then
// deals with every delivered one on the server. It returns the ids dealt
// with; a message that could not be delivered is a *messageError after
// the others are done.
func (b apiBatch) run(ctx context.Context, ids []string, st *passStats) (acted []string, err error) {
	r := b.r
	items, err := r.deliverer.begin(ctx, ids)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for i, it := range items {
		if it.done || ctx.Err() != nil {
			continue
		}
		id := ids[i]
		err := r.deliverer.write(ctx, it, func() (io.ReadCloser, error) {
			body, err := b.fetch(ctx, id)
			if err != nil {
				return nil, err
			}
			return capBody(body, r.cfg.MaxMessageSize, func() { body.Close() }), nil
		})
		switch {
		case err == nil:
		case gone(err):
			st.gone++ // moved or deleted since it was listed
		default:
			st.failed++
			if firstErr == nil {
				firstErr = &messageError{err}
			}
		}
	}
	if err := r.deliverer.end(ctx, items); err != nil {
		return nil, err
	}
	st.add(items)
	for i, it := range items {
		if !it.done || ctx.Err() != nil {
			continue
		}
		if !it.wrote && !it.recovered && b.settled != nil && b.settled(i) {
			continue
		}
		if err := b.after(ctx, ids[i]); err != nil {
			if gone(err) {
				continue // already gone
			}
			return acted, err
		}
		st.acted++
		acted = append(acted, ids[i])
	}
	return acted, firstErr
}
