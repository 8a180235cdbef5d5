package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"mailtokens/internal/advice"
)

// UnavailableError is a database that could not be reached or dropped the
// connection: the server is down, restarting or out of connections, or
// the network between is broken. It passes by itself: workers back off and
// carry on, and /healthz says the store is down until it answers again.
// PostgreSQL's errors reach the stores wrapped in it; what the stores
// cannot do without the database they report with it in the chain.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "the database is unavailable: " + e.Err.Error() }

func (e *UnavailableError) Unwrap() error { return e.Err }

// Advice: nothing to do but wait, unless it lasts.
func (e *UnavailableError) Advice() (string, advice.Kind) {
	return "The token store's database did not answer; the programs retry by themselves. If it lasts, check that PostgreSQL runs and that this host reaches it (TOKEN_STORE).", advice.Temporary
}

// unavailable wraps err in an *UnavailableError when it says the
// connection to the database is gone or could not be made. It decides by
// error types and SQLSTATE codes, never by text.
func unavailable(err error) error {
	if err == nil || err == io.EOF || err == driver.ErrSkip {
		return err // the end of rows, or "use another way": not failures
	}
	var ue *UnavailableError
	if errors.As(err, &ue) || !lostConnection(err) {
		return err
	}
	return &UnavailableError{Err: err}
}

func lostConnection(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up: not the database's doing
	}
	switch code := pgCode(err); {
	case strings.HasPrefix(code, "08"), // connection exception
		code == "57P01", code == "57P02", code == "57P03", // admin or crash shutdown, cannot connect now (starting up, shutting down)
		code == "53300": // too many connections
		return true
	case code != "":
		return false // the server answered: a refusal of the statement or the login
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// pgxRows is what pgx's database/sql rows offer.
type pgxRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// checkedRows report a connection lost while reading rows as such.
type checkedRows struct{ pgxRows }

func (r checkedRows) Next(dest []driver.Value) error { return unavailable(r.pgxRows.Next(dest)) }

// checkedTx reports a connection lost at commit as such.
type checkedTx struct{ driver.Tx }

func (t checkedTx) Commit() error { return unavailable(t.Tx.Commit()) }
