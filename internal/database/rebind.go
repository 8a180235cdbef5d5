package database

import (
	"context"
	"database/sql/driver"
	"strconv"
	"strings"
)

// The store's SQL is written once, with ? placeholders, for both engines.
// PostgreSQL numbers its placeholders ($1, $2, …): a thin wrapper around
// pgx's database/sql connection rewrites each statement on its way in, so
// every caller keeps using *sql.DB and *sql.Tx as with SQLite.

// rebind turns the ? placeholders of query into $1, $2, …, leaving quoted
// strings, quoted identifiers and comments alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch c {
		case '\'', '"':
			j := i + 1
			for j < len(query) {
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(query))
			b.WriteString(query[i:end])
			i = end - 1
		case '-':
			if i+1 < len(query) && query[i+1] == '-' {
				end := strings.IndexByte(query[i:], '\n')
				if end < 0 {
					end = len(query) - i
				}
				b.WriteString(query[i : i+end])
				i += end - 1
				continue
			}
			b.WriteByte(c)
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pgxConn is what pgx's database/sql connection offers.
type pgxConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.NamedValueChecker
}

// rebindConnector hands out connections that rebind their statements
// and report a lost connection as an *[UnavailableError].
type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	return rebindConn{conn.(pgxConn)}, nil
}

type rebindConn struct{ pgxConn }

func (c rebindConn) Prepare(query string) (driver.Stmt, error) {
	st, err := c.pgxConn.Prepare(rebind(query))
	return st, unavailable(err)
}

func (c rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.pgxConn.PrepareContext(ctx, rebind(query))
	return st, unavailable(err)
}

func (c rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.pgxConn.ExecContext(ctx, rebind(query), args)
	return res, unavailable(err)
}

func (c rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.pgxConn.QueryContext(ctx, rebind(query), args)
	if err != nil {
		return nil, unavailable(err)
	}
	if r, ok := rows.(pgxRows); ok {
		return checkedRows{r}, nil
	}
	return rows, nil
}

func (c rebindConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.pgxConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, unavailable(err)
	}
	return checkedTx{tx}, nil
}

func (c rebindConn) Ping(ctx context.Context) error { return unavailable(c.pgxConn.Ping(ctx)) }
