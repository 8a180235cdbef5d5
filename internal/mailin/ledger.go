package mailin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailtokens/internal/database"
)

// Ledger is evmail's record, in the shared database, of what it has
// delivered from each mailbox: the durable half of "nothing lost, nothing
// doubled" (see doc.go). It has tables of its own (mailboxes, deliveries).
type Ledger struct {
	db  *database.DB
	now func() time.Time
}

// NewLedger is the ledger in db.
func NewLedger(db *database.DB) *Ledger { return &Ledger{db: db, now: time.Now} }

// MailboxState is what evmail remembers of an IMAP folder: its UIDVALIDITY
// and the highest UID up to which every message is delivered and dealt
// with on the server.
type MailboxState struct {
	UIDValidity uint32
	LastUID     uint32
	// SeenBelow, when not 0, is the folder's UIDNEXT when its UIDVALIDITY
	// changed with AFTER_DELIVERY SEEN: the \Seen messages below it were
	// delivered under the old numbering and are skipped.
	SeenBelow uint32
}

// MailboxState returns the state for key (zero when unknown).
func (s *Ledger) MailboxState(ctx context.Context, key string) (MailboxState, error) {
	var st MailboxState
	err := s.db.QueryRowContext(ctx, `SELECT uidvalidity, last_uid, seen_below FROM mailboxes WHERE key = ?`, key).Scan(&st.UIDValidity, &st.LastUID, &st.SeenBelow)
	if errors.Is(err, sql.ErrNoRows) {
		return MailboxState{}, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state of %s: %w", key, err)
	}
	return st, nil
}

// SetMailboxState saves the state, and forgets the deliveries it makes
// unnecessary: those of other UIDVALIDITY values, and UIDs up to LastUID
// (IMAP delivery keys are "<uidvalidity>/<uid>").
func (s *Ledger) SetMailboxState(ctx context.Context, key string, st MailboxState) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mailboxes (key, uidvalidity, last_uid, seen_below, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
			seen_below = excluded.seen_below, updated_at = excluded.updated_at`,
			key, st.UIDValidity, st.LastUID, st.SeenBelow, database.Millis(s.now())); err != nil {
			return err
		}
		prefix := fmt.Sprintf("%d/", st.UIDValidity)
		_, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE mailbox = ? AND (substr(uid, 1, ?) <> ?
			OR CAST(substr(uid, ?) AS INTEGER) <= ?)`, key, len(prefix), prefix, len(prefix)+1, st.LastUID)
		return err
	})
	if err != nil {
		return fmt.Errorf("save state of %s: %w", key, err)
	}
	return nil
}

// Cursor is where a web API's next read of the folder starts ("" when
// unknown: a full read of the folder): Graph's delta link, or the Gmail
// API's history id.
func (s *Ledger) Cursor(ctx context.Context, key string) (string, error) {
	var link string
	err := s.db.QueryRowContext(ctx, `SELECT delta_link FROM mailboxes WHERE key = ?`, key).Scan(&link)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the cursor of %s: %w", key, err)
	}
	return link, nil
}

// SetCursor saves the folder's cursor, once every message the read up to
// it listed is delivered and dealt with on the server.
func (s *Ledger) SetCursor(ctx context.Context, key, link string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO mailboxes (key, uidvalidity, last_uid, seen_below, updated_at, delta_link)
		VALUES (?, 0, 0, 0, ?, ?) ON CONFLICT (key) DO UPDATE SET delta_link = excluded.delta_link, updated_at = excluded.updated_at`,
		key, database.Millis(s.now()), link)
	if err != nil {
		return fmt.Errorf("save the cursor of %s: %w", key, err)
	}
	return nil
}

// DeliveryState is how far the delivery of one message got.
type DeliveryState string

// The delivery states.
const (
	DeliveryNone      DeliveryState = ""
	DeliveryPending   DeliveryState = "pending"   // being written; Location says where
	DeliveryDelivered DeliveryState = "delivered" // written and synced at its destination
)

// Delivery is the record of one message of a mailbox.
type Delivery struct {
	UID      string
	State    DeliveryState
	Location string
}

// Delivery returns what is known of uid in mailbox.
func (s *Ledger) Delivery(ctx context.Context, mailbox, uid string) (Delivery, error) {
	d := Delivery{UID: uid}
	var state string
	err := s.db.QueryRowContext(ctx, `SELECT state, location FROM deliveries WHERE mailbox = ? AND uid = ?`, mailbox, uid).Scan(&state, &d.Location)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("read delivery %s %s: %w", mailbox, uid, err)
	}
	d.State = DeliveryState(state)
	return d, nil
}

// Deliveries returns every record of mailbox.
func (s *Ledger) Deliveries(ctx context.Context, mailbox string) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT uid, state, location FROM deliveries WHERE mailbox = ? ORDER BY uid`, mailbox)
	if err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", mailbox, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var state string
		if err := rows.Scan(&d.UID, &state, &d.Location); err != nil {
			return nil, err
		}
		d.State = DeliveryState(state)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeliveriesOf returns the records of uids in mailbox (absent ones have
// state DeliveryNone), in the order of uids.
func (s *Ledger) DeliveriesOf(ctx context.Context, mailbox string, uids []string) ([]Delivery, error) {
	known := map[string]Delivery{}
	for chunk := range slices.Chunk(uids, 500) {
		args := []any{mailbox}
		for _, u := range chunk {
			args = append(args, u)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT uid, state, location FROM deliveries WHERE mailbox = ? AND uid IN (?`+
			strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read deliveries of %s: %w", mailbox, err)
		}
		for rows.Next() {
			var d Delivery
			var state string
			if err := rows.Scan(&d.UID, &state, &d.Location); err != nil {
				rows.Close()
				return nil, err
			}
			d.State = DeliveryState(state)
			known[d.UID] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]Delivery, len(uids))
	for i, u := range uids {
		if d, ok := known[u]; ok {
			out[i] = d
		} else {
			out[i] = Delivery{UID: u}
		}
	}
	return out, nil
}

// SetDeliveries records several delivery states in one transaction.
func (s *Ledger) SetDeliveries(ctx context.Context, mailbox string, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	now := database.Millis(s.now())
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (mailbox, uid, state, location, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (mailbox, uid) DO UPDATE SET state = excluded.state, location = excluded.location, at = excluded.at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, d := range ds {
			if _, err := stmt.ExecContext(ctx, mailbox, d.UID, string(d.State), d.Location, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record deliveries of %s: %w", mailbox, err)
	}
	return nil
}

// SetDelivery records uid's delivery state (pending before writing,
// delivered after the write is synced). Each call is its own transaction,
// committed before the caller goes on.
func (s *Ledger) SetDelivery(ctx context.Context, mailbox string, d Delivery) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO deliveries (mailbox, uid, state, location, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (mailbox, uid) DO UPDATE SET state = excluded.state, location = excluded.location, at = excluded.at`,
		mailbox, d.UID, string(d.State), d.Location, database.Millis(s.now()))
	if err != nil {
		return fmt.Errorf("record delivery %s %s: %w", mailbox, d.UID, err)
	}
	return nil
}

// ForgetDeliveries drops the records of uids (messages gone from the
// server, or a pending write that never landed).
func (s *Ledger) ForgetDeliveries(ctx context.Context, mailbox string, uids []string) error {
	if len(uids) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(uids, 500) {
			args := []any{mailbox}
			for _, u := range chunk {
				args = append(args, u)
			}
			q := `DELETE FROM deliveries WHERE mailbox = ? AND uid IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("forget deliveries of %s: %w", mailbox, err)
			}
		}
		return nil
	})
}
