package mailin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"mailtokens/internal/backoff"
	"mailtokens/internal/bearer"
	"mailtokens/internal/clock"
	"mailtokens/internal/database"
	"mailtokens/internal/gmailapi"
	"mailtokens/internal/graph"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/worker"
)

// Receiver is one mailbox being received.
type Receiver struct {
	cfg       *taskconf.Evmail
	task      *worker.Task
	ledger    *Ledger
	deliverer *deliverer
	key       string // the mailbox's state key
	log       *slog.Logger
	// opTimeout bounds each exchange with the server (watchdog: no byte
	// for this long fails the command).
	opTimeout time.Duration
	// maxSession ends a connection after this long, so that a long IDLE
	// session logs in again with a fresh token before providers end it.
	maxSession time.Duration
	// folderReady is the connection on which the MOVE target is known to
	// exist.
	folderReady *mailconn.IMAPClient
	protocol    protocol
	// lease makes this process the mailbox's only receiver.
	lease *database.Lease
	// logged holds the messages over MAILBOX_MAX_MESSAGE_SIZE already
	// logged by this process.
	logged map[string]bool
}

// silence is how long a server may send nothing before the connection is
// given up: during the login, and in any exchange after it. Tests shorten
// it.
var silence = struct{ login, op time.Duration }{mailconn.DefaultTimeout, 2 * time.Minute}

// NewReceiver prepares the mailbox's state and its destination; ledger
// records what has been delivered.
func NewReceiver(cfg *taskconf.Evmail, task *worker.Task, ledger *Ledger) (*Receiver, error) {
	r := &Receiver{cfg: cfg, task: task, ledger: ledger, log: task.Log, opTimeout: silence.op, maxSession: 45 * time.Minute,
		logged: map[string]bool{}}
	if r.task.Server.Timeout == 0 {
		r.task.Server.Timeout = silence.login
	}
	r.key = strings.ToLower(fmt.Sprintf("%s|%s|%d|%s|%s", cfg.Protocol, cfg.Host, cfg.Port, cfg.User, cfg.Folder))
	// One receiver per mailbox, whatever the protocol or port it is read
	// over: the lease is keyed by server, user and folder.
	r.lease = ledger.db.Lease(strings.ToLower(fmt.Sprintf("evmail %s|%s|%s", cfg.Host, cfg.User, cfg.Folder)), leaseFor)
	var dest destination
	if cfg.DeliverTo.Maildir != "" {
		md, err := OpenMaildir(cfg.DeliverTo.Maildir)
		if err != nil {
			return nil, err
		}
		md.CleanTmp(36*time.Hour, time.Now())
		dest = md
	} else {
		dest = &Command{Argv: cfg.DeliverTo.Command}
	}
	r.deliverer = &deliverer{ledger: ledger, mailbox: r.key, dest: dest, now: time.Now}
	switch cfg.Protocol {
	case mailserver.GRAPH:
		c := &graph.Client{Base: cfg.APIURL, HTTP: graph.NewHTTPClient(task.Server.RootCAs), Tokens: task.Auth.Tokens, Mailbox: cfg.User}
		r.protocol = &graphProtocol{r: r, c: c, ids: folderIDs{resolve: c.FolderID}}
	case mailserver.GMAILAPI:
		c := &gmailapi.Client{Base: cfg.APIURL, HTTP: bearer.NewHTTPClient(task.Server.RootCAs, 4), Tokens: task.Auth.Tokens, User: cfg.User}
		r.protocol = &gmailProtocol{r: r, c: c, ids: folderIDs{resolve: c.LabelID}}
	case mailserver.POP3:
		r.protocol = pop3Protocol{r}
	default:
		r.protocol = imapProtocol{r}
	}
	return r, nil
}

// passStats counts what a pass did.
type passStats struct {
	delivered int // written now
	already   int // recognised as delivered before
	failed    int
	gone      int   // vanished from the server before they could be fetched
	acted     int   // marked, moved or deleted on the server
	tooLarge  int   // left on the server for MAILBOX_MAX_MESSAGE_SIZE
	largest   int64 // the largest of them
}

// protocol is how a mailbox is received: one implementation per protocol
// (imap.go, pop3.go).
type protocol interface {
	// connect connects and logs in.
	connect(ctx context.Context) (session, error)
}

// session is one logged-in connection to the mailbox.
type session interface {
	// pass receives everything there is and deals with it on the server.
	pass(ctx context.Context, st *passStats) error
	// idles reports whether the server can tell of new mail on this
	// connection (IMAP IDLE); if not, the worker polls.
	idles() bool
	// idle waits up to max for new mail.
	idle(ctx context.Context, max time.Duration) error
	// old reports whether the session should log in again (a fresh token
	// before providers end it).
	old() bool
	// logout ends the session cleanly.
	logout()
	// close abandons the session at once; nothing is deleted that was not
	// committed.
	close()
}

// pass receives once over c. When ctx ends (SIGTERM), the connection is
// closed at once: a read waiting on a slow or silent server fails, the
// message being written is abandoned (its tmp file removed, its pending
// record left for the next start), and nothing half-written remains.
//
// A panic in the pass (a server's reply that trips up a protocol library)
// closes the connection and is returned as an error: no reply may crash
// the worker.
func (r *Receiver) pass(ctx context.Context, c session) (st passStats, err error) {
	defer context.AfterFunc(ctx, c.close)()
	defer func() {
		if v := recover(); v != nil {
			c.close()
			r.log.Error("the server's reply crashed the pass; closing the connection", "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("the server's reply caused a crash: %v", v)
		}
	}()
	err = c.pass(ctx, &st)
	return st, err
}

// leaseFor is how long the mailbox's lease lasts unless renewed: a process
// that dies holding it stops another from receiving for at most this long.
const leaseFor = 90 * time.Second

// Once connects, receives everything there is, and disconnects. The error
// is nil only if every message was delivered and dealt with. When another
// evmail is receiving the mailbox, it says so and receives nothing.
func (r *Receiver) Once(ctx context.Context) error {
	return r.lease.Hold(ctx, func(ctx context.Context) error {
		start := time.Now()
		c, err := r.protocol.connect(ctx)
		if err != nil {
			return err
		}
		defer c.close()
		st, err := r.pass(ctx, c)
		r.summary(st, time.Since(start), err)
		if err == nil {
			r.noteSize(ctx, st)
			c.logout()
		}
		if err == nil && st.failed > 0 {
			err = fmt.Errorf("%d message(s) could not be delivered", st.failed)
		}
		return err
	})
}

// connectError marks a failure to connect or log in, as opposed to one
// during a session.
type connectError struct{ error }

func (e connectError) Unwrap() error { return e.error }

// Run receives until ctx ends. Nothing stops it: a failure is logged in one
// line (in full the first time, briefly while it repeats) and retried after
// a capped, growing pause. While another evmail receives the mailbox (the
// lease in the database says who), it waits.
func (r *Receiver) Run(ctx context.Context) error {
	b := backoff.Backoff{Min: 2 * time.Second, Max: min(5*time.Minute, max(r.cfg.PollInterval, 10*time.Second))}
	// A failure is logged in full once, then briefly while it repeats.
	retries := worker.Retries{Report: r.task.Report, Log: r.log}
	var waitingFor string // who holds the mailbox, once said
	for ctx.Err() == nil {
		start := time.Now()
		var polls bool
		err := r.lease.Hold(ctx, func(ctx context.Context) error {
			c, err := r.protocol.connect(ctx)
			if err != nil {
				return connectError{err}
			}
			defer c.close()
			polls, err = r.session(ctx, c, start)
			return err
		})
		if ctx.Err() != nil {
			break
		}
		var held *database.HeldError
		var ce connectError
		switch {
		case errors.As(err, &held):
			if held.Holder != waitingFor {
				r.log.Info("another evmail ("+held.Holder+") is receiving this mailbox; waiting", "mailbox", r.cfg.User, "folder", r.cfg.Folder)
				waitingFor = held.Holder
			}
			clock.Sleep(ctx, min(r.cfg.PollInterval, leaseFor))
			continue
		case errors.As(err, &ce):
			d := b.After(err, r.cfg.PollInterval)
			retries.Failed("cannot receive", "still cannot receive", ce.error, d)
			clock.Sleep(ctx, d)
			continue
		case err != nil:
			d := b.Next()
			retries.Failed("receiving failed", "receiving still fails", err, d)
			clock.Sleep(ctx, d)
			continue
		}
		waitingFor = ""
		b.Reset()
		retries.Reset()
		if polls {
			clock.Sleep(ctx, r.cfg.PollInterval)
		}
	}
	r.log.Info("evmail stopped")
	return nil
}

// session runs passes over one connection: with IMAP IDLE, a pass each
// time mail arrives (or the poll interval passes) until the session is old;
// otherwise one pass, and polls is true.
func (r *Receiver) session(ctx context.Context, c session, start time.Time) (polls bool, err error) {
	for {
		st, err := r.pass(ctx, c)
		r.summary(st, time.Since(start), err)
		if err != nil {
			return false, err
		}
		r.noteSize(ctx, st)
		if !c.idles() {
			c.logout()
			return true, nil
		}
		if c.old() {
			c.logout()
			return false, nil
		}
		if err := c.idle(ctx, r.cfg.PollInterval); err != nil {
			return false, err
		}
		if ctx.Err() != nil {
			c.logout()
			return false, nil
		}
		start = time.Now()
	}
}

// summary is the one line per pass.
func (r *Receiver) summary(st passStats, d time.Duration, err error) {
	args := []any{"delivered", st.delivered, "recognised", st.already, "failed", st.failed,
		"gone", st.gone, "done_on_server", st.acted, "took", d.Round(time.Millisecond).String()}
	if st.tooLarge > 0 {
		args = append(args, "too_large", st.tooLarge)
	}
	switch {
	case err != nil:
		r.task.Passed(err)
	case st.failed > 0:
		r.task.Passed(fmt.Errorf("%d message(s) could not be delivered", st.failed))
	default:
		r.task.Passed(nil)
	}
	switch {
	case err != nil || st.failed > 0:
		r.log.Warn("pass finished with problems", args...)
	case st == passStats{}:
		// An idle mailbox is looked at every poll interval: not news.
		r.log.Debug("pass finished", args...)
	default:
		r.log.Info("pass finished", args...)
	}
}

// lost reports whether the exchange over c that failed with err left the
// connection unable to go on. The connection knows (closed, ended by the
// server, out of step); a network error (net.ErrClosed and timeouts
// included) or a cut-off reply from reading a message body, which the
// caller's goroutine sees before the protocol library does, says so too.
func lost(c interface{ Broken() bool }, err error) bool {
	var ne net.Error
	return c.Broken() || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}
