package database

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mailtokens/internal/advice"
)

// copyTables are the tables Copy carries over, parents before the tables
// that refer to them. The leases table is left out on purpose: a lease
// belongs to a process running on the old store (an evmail receiving a
// mailbox), it means nothing to the new one, and a copied lease would only
// make the first worker on the new store wait for a holder that is gone.
var copyTables = []string{
	"meta", "tokens", "events", "admins", "sessions", "token_tasks", "mailboxes", "deliveries",
	"login_throttle", "admin_events", "notify_problems", "notify_channels",
}

// identityTables have an id column the engine numbers; Copy keeps every
// id (a token's sealed secrets name its id, and events name their token's
// id) and sets the target's numbering past the source's.
var identityTables = []string{"tokens", "events", "admins", "admin_events"}

// TableCount is how many rows of a table Copy copied.
type TableCount struct {
	Table string
	Rows  int64
}

// NotEmptyError refuses a copy into a store that already holds something:
// Copy never merges two stores.
type NotEmptyError struct {
	Store string
	Table string
	Rows  int64
}

func (e *NotEmptyError) Error() string {
	return fmt.Sprintf("the target store %s is not empty (%s has %d rows); nothing was copied", e.Store, e.Table, e.Rows)
}

// Advice: a copy goes into a new store only.
func (e *NotEmptyError) Advice() (string, advice.Kind) {
	return "Copy into a new, empty store: a new SQLite path, or an empty PostgreSQL database (CREATE DATABASE … OWNER …). Copying never merges two stores.", advice.Misconfigured
}

// Copy copies every table of the store from into the store to, which must
// be empty (a fresh schema: what Open makes of a new file or an empty
// database), in one transaction on to. Rows keep their ids and sealed
// values as bytes, so the same key opens them; leases are not copied (see
// copyTables). Both stores must have been opened with the same key:
// Copy refuses otherwise. After committing, it checks that to's key check
// opens and that every copied table reads back row for row as in from. It
// returns the rows copied per table, in copy order.
func Copy(ctx context.Context, from, to *DB) ([]TableCount, error) {
	if from.key.id != to.key.id {
		return nil, fmt.Errorf("the stores were opened with different keys (%s and %s): both must use the key of %s", from.key.id, to.key.id, from.path)
	}
	if err := to.checkEmpty(ctx); err != nil {
		return nil, err
	}
	var counts []TableCount
	err := to.InTx(ctx, func(tx *sql.Tx) error {
		counts = counts[:0]
		src, err := from.readTx(ctx)
		if err != nil {
			return fmt.Errorf("read %s: %w", from.path, err)
		}
		defer src.Rollback()
		for _, table := range copyTables {
			n, err := copyTable(ctx, src, from.engine, tx, to.engine, table)
			if err != nil {
				return fmt.Errorf("copy table %s: %w", table, err)
			}
			counts = append(counts, TableCount{Table: table, Rows: n})
		}
		for _, table := range identityTables {
			next, err := nextID(ctx, src, from.engine, table)
			if err != nil {
				return fmt.Errorf("read the numbering of %s: %w", table, err)
			}
			if err := setNextID(ctx, tx, to.engine, table, next); err != nil {
				return fmt.Errorf("set the numbering of %s: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("copy %s to %s: %w", from.path, to.path, err)
	}
	if err := to.CheckKey(ctx); err != nil {
		return counts, fmt.Errorf("check the copy %s: %w", to.path, err)
	}
	if err := SameRows(ctx, from, to); err != nil {
		return counts, fmt.Errorf("check the copy %s: %w", to.path, err)
	}
	return counts, nil
}

// checkEmpty refuses a store with any row but its own key check.
func (d *DB) checkEmpty(ctx context.Context) error {
	for _, table := range append(slices.Clone(copyTables), "leases") {
		q := `SELECT COUNT(*) FROM ` + table
		if table == "meta" {
			q += ` WHERE key <> 'key_check'`
		}
		var n int64
		if err := d.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("look into the target store %s: %w", d.path, err)
		}
		if n > 0 {
			return &NotEmptyError{Store: d.path, Table: table, Rows: n}
		}
	}
	return nil
}

// readTx is a transaction that sees one state of the store throughout:
// SQLite's (immediate) transaction also keeps writers out meanwhile.
func (d *DB) readTx(ctx context.Context) (*sql.Tx, error) {
	if d.engine == PostgreSQL {
		return d.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	return d.BeginTx(ctx, nil)
}

// colKind is how a column's values are read and written on both engines.
type colKind int

const (
	colText colKind = iota
	colInt
	colBytes
)

type column struct {
	name string
	kind colKind
}

// columns lists table's columns as the engine declares them.
func columns(ctx context.Context, q querier, e Engine, table string) ([]column, error) {
	query := `SELECT name, type FROM pragma_table_info(?)`
	if e == PostgreSQL {
		query = `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`
	}
	rows, err := q.QueryContext(ctx, query, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		var typ string
		if err := rows.Scan(&c.name, &typ); err != nil {
			return nil, err
		}
		switch t := strings.ToUpper(typ); {
		case strings.Contains(t, "INT"):
			c.kind = colInt
		case t == "BLOB" || t == "BYTEA":
			c.kind = colBytes
		default:
			c.kind = colText
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("no table %s", table)
	}
	return cols, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sameColumns checks that both stores have the same columns in table, and
// returns them as the source has them.
func sameColumns(ctx context.Context, src querier, se Engine, dst querier, de Engine, table string) ([]column, error) {
	a, err := columns(ctx, src, se, table)
	if err != nil {
		return nil, err
	}
	b, err := columns(ctx, dst, de, table)
	if err != nil {
		return nil, err
	}
	key := func(cs []column) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.name+" "+strconv.Itoa(int(c.kind)))
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(key(a), key(b)) {
		return nil, fmt.Errorf("the stores' columns differ (%v and %v): both must be at the same schema version", key(a), key(b))
	}
	return a, nil
}

// scanDest is a row of holders for cols.
func scanDest(cols []column) []any {
	dest := make([]any, len(cols))
	for i, c := range cols {
		switch c.kind {
		case colInt:
			dest[i] = new(sql.NullInt64)
		case colBytes:
			dest[i] = new([]byte)
		default:
			dest[i] = new(sql.NullString)
		}
	}
	return dest
}

// value is what a holder of scanDest read, as an argument for a statement.
func value(holder any) any {
	switch h := holder.(type) {
	case *sql.NullInt64:
		return *h
	case *sql.NullString:
		return *h
	case *[]byte:
		if *h == nil {
			return nil
		}
		return slices.Clone(*h)
	}
	panic("database: unknown holder")
}

// copyBatch is how many rows go into one INSERT.
const copyBatch = 100

// copyTable copies every row of table from src to dst; the row that the
// target's Open wrote (its key check in meta) is replaced by the source's.
func copyTable(ctx context.Context, src *sql.Tx, se Engine, dst *sql.Tx, de Engine, table string) (int64, error) {
	cols, err := sameColumns(ctx, src, se, dst, de, table)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	list := strings.Join(names, ", ")
	rows, err := src.QueryContext(ctx, `SELECT `+list+` FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var args []any
	var n, pending int64
	flush := func() error {
		if pending == 0 {
			return nil
		}
		q := `INSERT INTO ` + table + ` (` + list + `) VALUES ` + strings.TrimSuffix(strings.Repeat(one+", ", int(pending)), ", ")
		if table == "meta" {
			q += ` ON CONFLICT (key) DO UPDATE SET value = excluded.value`
		}
		_, err := dst.ExecContext(ctx, q, args...)
		args, pending = args[:0], 0
		return err
	}
	dest := scanDest(cols)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		for _, h := range dest {
			args = append(args, value(h))
		}
		n++
		if pending++; pending == copyBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// nextID is the id the source would give the next row of table: past
// every id it ever gave, not only past the rows left. A deleted token's
// events keep its id, so a new token must never get that id again.
func nextID(ctx context.Context, q querier, e Engine, table string) (int64, error) {
	var maxID, seq sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(id) FROM `+table).Scan(&maxID); err != nil {
		return 0, err
	}
	var err error
	if e == PostgreSQL {
		err = q.QueryRowContext(ctx, `SELECT pg_sequence_last_value(pg_get_serial_sequence(?, 'id')::regclass)`, table).Scan(&seq)
	} else {
		err = q.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, table).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
	}
	if err != nil {
		return 0, err
	}
	return max(maxID.Int64, seq.Int64) + 1, nil
}

// setNextID makes the target number the next row of table next.
func setNextID(ctx context.Context, tx *sql.Tx, e Engine, table string, next int64) error {
	if e == PostgreSQL {
		_, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?, 'id'), ?, false)`, table, next)
		return err
	}
	if next <= 1 {
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = ? WHERE name = ?`, next-1, table)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, table, next-1)
	return err
}

// SameRows checks that a and b hold the same rows in every table Copy
// copies (in any order: the engines sort text differently), and says
// which table differs and how.
func SameRows(ctx context.Context, a, b *DB) error {
	for _, table := range copyTables {
		cols, err := sameColumns(ctx, a, a.engine, b, b.engine, table)
		if err != nil {
			return fmt.Errorf("table %s: %w", table, err)
		}
		ra, err := dumpRows(ctx, a, table, cols)
		if err != nil {
			return fmt.Errorf("read table %s of %s: %w", table, a.path, err)
		}
		rb, err := dumpRows(ctx, b, table, cols)
		if err != nil {
			return fmt.Errorf("read table %s of %s: %w", table, b.path, err)
		}
		if len(ra) != len(rb) {
			return fmt.Errorf("table %s: %d rows in %s, %d in %s", table, len(ra), a.path, len(rb), b.path)
		}
		for i := range ra {
			if ra[i] != rb[i] {
				return fmt.Errorf("table %s: the rows differ (%d of %d read back differently)", table, countDiff(ra, rb), len(ra))
			}
		}
	}
	return nil
}

func countDiff(a, b []string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// dumpRows reads table's rows as sorted strings, one per row, that compare
// equal when the values are equal whichever engine read them. They hold
// sealed values in hex: never shown to anyone.
func dumpRows(ctx context.Context, d *DB, table string, cols []column) ([]string, error) {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	slices.Sort(names) // the same order on both sides, whatever the column order
	sorted := make([]column, len(cols))
	for i, name := range names {
		sorted[i] = cols[slices.IndexFunc(cols, func(c column) bool { return c.name == name })]
	}
	rows, err := d.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	dest := scanDest(sorted)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, h := range dest {
			switch v := value(h).(type) {
			case sql.NullInt64:
				if v.Valid {
					b.WriteString(strconv.FormatInt(v.Int64, 10))
				} else {
					b.WriteString("NULL")
				}
			case sql.NullString:
				if v.Valid {
					b.WriteString(strconv.Quote(v.String))
				} else {
					b.WriteString("NULL")
				}
			case []byte:
				b.WriteString("x" + hex.EncodeToString(v))
			default:
				b.WriteString("NULL")
			}
			b.WriteByte('|')
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}
