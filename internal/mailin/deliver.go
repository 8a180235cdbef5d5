package mailin

import (
	"context"
	"fmt"
	"io"
	"time"
)

// destination is where messages go: one implementation per kind
// (maildir.go, command.go).
type destination interface {
	// location names where a message will go, recorded in the ledger before
	// it is written.
	location(now time.Time) string
	// has reports whether a message recorded as pending, from a delivery a
	// crash interrupted, is whole at location.
	has(location string) bool
	// discard removes what an interrupted delivery left at location.
	discard(location string)
	// deliver writes one message to location. key identifies the message
	// for good; redelivery says an earlier try may have reached it.
	deliver(ctx context.Context, location, key string, redelivery bool, body io.Reader) error
	// sync makes the deliveries so far survive a crash.
	sync() error
}

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
		case rec.State == DeliveryPending && d.dest.has(rec.Location):
			it.done, it.recovered = true, true
			continue
		case rec.State == DeliveryPending:
			it.redelivery = true
			d.dest.discard(rec.Location)
		}
		it.rec.State = DeliveryPending
		it.rec.Location = d.dest.location(d.now())
		pending = append(pending, it.rec)
	}
	if err := d.ledger.SetDeliveries(ctx, d.mailbox, pending); err != nil {
		return nil, err
	}
	return items, nil
}

// write delivers one pending message; open gives its body as the server
// sends it. The message counts as delivered only when its body closes
// without error too: the transport's word that every byte arrived (a POP3
// terminating line, an IMAP FETCH's tagged OK). Otherwise it stays pending:
// found at its destination next time (a Maildir file), or delivered again.
func (d *deliverer) write(ctx context.Context, it *item, open func() (io.ReadCloser, error)) error {
	body, err := open()
	if err != nil {
		return err
	}
	err = d.dest.deliver(ctx, it.rec.Location, d.mailbox+" "+it.rec.UID, it.redelivery, body)
	// The transport has the last word: a body must end with every byte
	// announced and the server's completion (the readers report it in
	// place of the end of file, before a destination commits).
	if cerr := body.Close(); err == nil && cerr != nil {
		err = cerr
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
	if err := d.dest.sync(); err != nil {
		return err
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
