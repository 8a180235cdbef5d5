package mailin

import (
	"context"
	"fmt"
	"io"
	"time"
)

// destination is where messages go: a Maildir or a program.
type destination struct {
	maildir *Maildir
	command *Command
}

// commandLocation marks a delivery to a program in the ledger.
const commandLocation = "command"

// deliverer runs the delivery steps against the ledger for one mailbox.
//
// Messages go in batches, so that the durable steps are shared: the
// pending records of a batch are committed in one transaction before any
// is written; each message is written and fsynced; at the end one fsync
// of new/ and one transaction record them all delivered. A crash before
// the end leaves pending records whose files are found (delivered) or not
// (fetched again).
type deliverer struct {
	ledger  *Ledger
	mailbox string // the state key
	dest    destination
	now     func() time.Time
}

// item is one message of a batch.
type item struct {
	rec        Delivery
	done       bool // delivered before, or just now
	wrote      bool // written in this batch
	recovered  bool // pending from a crash, found at its destination
	redelivery bool // pending from a crash, not found: written again
}

// begin looks uids up and records the ones to write as pending.
func (d *deliverer) begin(ctx context.Context, uids []string) ([]*item, error) {
	recs, err := d.ledger.DeliveriesOf(ctx, d.mailbox, uids)
	if err != nil {
		return nil, err
	}
	items := make([]*item, len(recs))
	var pending []Delivery
	for i, rec := range recs {
		it := &item{rec: rec}
		items[i] = it
		switch {
		case rec.State == DeliveryDelivered:
			it.done = true
			continue
		case rec.State == DeliveryPending && rec.Location != commandLocation && d.dest.maildir != nil && d.dest.maildir.Has(rec.Location):
			it.done, it.recovered = true, true
			continue
		case rec.State == DeliveryPending:
			it.redelivery = true
			if d.dest.maildir != nil {
				d.dest.maildir.Discard(rec.Location)
			}
		}
		it.rec.State = DeliveryPending
		if d.dest.maildir != nil {
			it.rec.Location = d.dest.maildir.Name(d.now())
		} else {
			it.rec.Location = commandLocation
		}
		pending = append(pending, it.rec)
	}
	if err := d.ledger.SetDeliveries(ctx, d.mailbox, pending); err != nil {
		return nil, err
	}
	return items, nil
}

// write delivers one pending message; open gives its body as the server
// sends it.
func (d *deliverer) write(ctx context.Context, it *item, open func() (io.ReadCloser, error)) error {
	body, err := open()
	if err != nil {
		return err
	}
	defer body.Close()
	if d.dest.maildir != nil {
		err = d.dest.maildir.write(ctx, it.rec.Location, body)
	} else {
		err = d.dest.command.Run(ctx, d.mailbox+" "+it.rec.UID, it.redelivery, body)
	}
	if err != nil {
		return fmt.Errorf("deliver %s: %w", it.rec.UID, err)
	}
	it.done, it.wrote = true, true
	return nil
}

// end makes the batch's writes durable and records them delivered. It
// runs even when ctx ended: what is at its destination must be recorded.
func (d *deliverer) end(ctx context.Context, items []*item) error {
	var ds []Delivery
	for _, it := range items {
		if it.wrote || it.recovered {
			it.rec.State = DeliveryDelivered
			ds = append(ds, it.rec)
		}
	}
	if len(ds) == 0 {
		return nil
	}
	if d.dest.maildir != nil {
		if err := d.dest.maildir.SyncNew(); err != nil {
			return err
		}
	}
	return d.ledger.SetDeliveries(context.WithoutCancel(ctx), d.mailbox, ds)
}

// count adds the batch's outcome to st.
func (st *passStats) add(items []*item) {
	for _, it := range items {
		switch {
		case it.wrote:
			st.delivered++
		case it.done:
			st.already++
		}
	}
}
