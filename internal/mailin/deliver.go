package mailin

import (
	"context"
	"fmt"
	"io"
	"time"

	"mailtokens/internal/tokenstore"
)

// destination is where messages go: a Maildir or a program.
type destination struct {
	maildir *Maildir
	command *Command
}

// commandLocation marks a delivery to a program in the store.
const commandLocation = "command"

// deliverer runs the delivery steps against the store for one mailbox.
type deliverer struct {
	store   *tokenstore.Store
	mailbox string // the state key
	dest    destination
	now     func() time.Time
}

// outcome of delivering one message.
type outcome int

const (
	delivered outcome = iota + 1 // written now
	already                      // delivered before (a re-download recognised)
)

// known reports whether uid needs no download: delivered before, or
// pending and found at its destination (a crash after the write but
// before the record).
func (d *deliverer) known(ctx context.Context, uid string) (bool, error) {
	rec, err := d.store.Delivery(ctx, d.mailbox, uid)
	if err != nil {
		return false, err
	}
	switch rec.State {
	case tokenstore.DeliveryDelivered:
		return true, nil
	case tokenstore.DeliveryPending:
		if rec.Location != commandLocation && d.dest.maildir != nil && d.dest.maildir.Has(rec.Location) {
			rec.State = tokenstore.DeliveryDelivered
			return true, d.store.SetDelivery(ctx, d.mailbox, rec)
		}
	}
	return false, nil
}

// deliver writes one message (whose body open gives) to the destination,
// recording it as pending first and delivered after. open is called only
// if the message must be written; its reader is the message as the server
// sent it.
func (d *deliverer) deliver(ctx context.Context, uid string, open func() (io.ReadCloser, error)) (outcome, error) {
	if ok, err := d.known(ctx, uid); err != nil || ok {
		return already, err
	}
	rec, err := d.store.Delivery(ctx, d.mailbox, uid)
	if err != nil {
		return 0, err
	}
	redelivery := rec.State == tokenstore.DeliveryPending
	if d.dest.maildir != nil {
		if redelivery {
			d.dest.maildir.Discard(rec.Location)
		}
		rec.Location = d.dest.maildir.Name(d.now())
	} else {
		rec.Location = commandLocation
	}
	rec.State = tokenstore.DeliveryPending
	if err := d.store.SetDelivery(ctx, d.mailbox, rec); err != nil {
		return 0, err
	}
	body, err := open()
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if d.dest.maildir != nil {
		err = d.dest.maildir.Write(ctx, rec.Location, body)
	} else {
		err = d.dest.command.Run(ctx, d.mailbox+" "+uid, redelivery, body)
	}
	if err != nil {
		return 0, fmt.Errorf("deliver %s: %w", uid, err)
	}
	rec.State = tokenstore.DeliveryDelivered
	// The message is at its destination: record it even if we are being
	// stopped, or the next start would fetch it again.
	if err := d.store.SetDelivery(context.WithoutCancel(ctx), d.mailbox, rec); err != nil {
		return 0, err
	}
	return delivered, nil
}
