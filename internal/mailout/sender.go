package mailout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/backoff"
	"mailtokens/internal/clock"
	"mailtokens/internal/logging"
	"mailtokens/internal/worker"
)

// Defaults for the Config fields left zero.
const (
	DefaultMaxPerConnection = 100
	DefaultPollInterval     = 5 * time.Second
	DefaultRetryMin         = time.Minute
	DefaultRetryMax         = time.Hour
	DefaultCommandTimeout   = 5 * time.Minute
	DefaultEndDataTimeout   = 10 * time.Minute
	DefaultGrace            = 10 * time.Second
)

// maxBreaks is how many transactions in a row may lose their connection
// before a pass gives up: the server or the network is in trouble, and the
// worker's backoff takes over from the messages' own.
const maxBreaks = 3

// Config is what a Sender needs. Spool, From and Dial are required.
type Config struct {
	Spool *Spool
	// From is the envelope sender (MAIL_FROM).
	From string
	// Dial opens a connection that has said EHLO, is protected as
	// configured and is logged in: mailconn.DialSMTP, the one place that
	// logs in. Each call takes a fresh token from the store.
	Dial func(ctx context.Context) (*smtp.Client, error)
	// API, when set instead of Dial, sends each message through a web
	// API: Microsoft Graph's sendMail (MAIL_PROTOCOL = GRAPH) or the Gmail
	// API (GMAIL_API). Its errors are bearer.APIErrors; APIName names it
	// in notes ("Graph sendMail").
	API     func(ctx context.Context, msg io.ReaderAt, size int64) error
	APIName string
	// Server names the server (host:port) in the notes beside messages.
	Server string
	// RatePerMinute caps the transactions in any 60 seconds; 0 = no limit.
	RatePerMinute int
	// MaxPerConnection is how many messages one connection carries before
	// it is closed and a new one opened (with a fresh token).
	MaxPerConnection int
	// DeleteSent deletes the messages the server accepted instead of
	// moving them to sent/ (MAIL_KEEP_SENT = NO).
	DeleteSent bool
	// PollInterval is how often an idle Run looks into new/.
	PollInterval time.Duration
	// RetryMin and RetryMax bound a message's backoff after a temporary
	// failure: RetryMin, doubling with each attempt, at most RetryMax.
	RetryMin, RetryMax time.Duration
	// CommandTimeout bounds each command's reply and each chunk of the
	// message; EndDataTimeout the reply to the end of the message.
	CommandTimeout, EndDataTimeout time.Duration
	// Grace is how long the message in flight may take to finish once the
	// context ends; after that it is abandoned (the connection closed
	// before the end of the message, so the server discards it).
	Grace time.Duration
	// Clock plans retries, the rate limit and Run's pauses; nil = the wall
	// clock. Tests pass a clock.Fake, so that they measure backoff and
	// rates without waiting for them. Network timeouts use the real time
	// regardless.
	Clock clock.Sleeper
	// Log gets one line per message and one summary per pass.
	Log *slog.Logger
	// Report logs a pass that could not connect or log in, with advice
	// (worker.Task.Report); nil logs the error as it is.
	Report func(what string, err error, retryIn time.Duration)
	// Passed, when set, is told the end of each pass: nil for one that
	// could do its work (the task's status).
	Passed func(err error)
}

// Sender sends the spool's messages. One goroutine at a time may use it.
type Sender struct {
	cfg     Config
	log     *slog.Logger
	clock   clock.Sleeper
	limit   rateLimit
	timeout sendTimeouts
	buf     []byte         // carries each message from its file to the connection
	retries worker.Retries // Run's failed passes: advice once, then briefly
	// idleLevel logs the summary of a pass that tried nothing: Debug in
	// Run, which passes every PollInterval; Info for -once.
	idleLevel slog.Level
}

// New returns a Sender, filling in defaults.
func New(cfg Config) (*Sender, error) {
	if cfg.Spool == nil || (cfg.Dial == nil) == (cfg.API == nil) || cfg.From == "" {
		return nil, errors.New("mailout: Config needs Spool, From, and Dial or API")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.MaxPerConnection <= 0 {
		cfg.MaxPerConnection = DefaultMaxPerConnection
	}
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.RetryMin, DefaultRetryMin)
	def(&cfg.RetryMax, DefaultRetryMax)
	def(&cfg.CommandTimeout, DefaultCommandTimeout)
	def(&cfg.EndDataTimeout, DefaultEndDataTimeout)
	def(&cfg.Grace, DefaultGrace)
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = logging.Discard()
	}
	s := &Sender{cfg: cfg, log: cfg.Log, clock: cfg.Clock, idleLevel: slog.LevelDebug,
		limit:   rateLimit{perMinute: cfg.RatePerMinute, clock: cfg.Clock},
		timeout: sendTimeouts{command: cfg.CommandTimeout, endData: cfg.EndDataTimeout},
		buf:     make([]byte, 64<<10)}
	s.retries = worker.Retries{Report: cfg.Report, Log: cfg.Log}
	if s.retries.Report == nil {
		s.retries.Report = func(what string, err error, retryIn time.Duration) {
			s.log.Error(what, "err", err.Error(), "retry_in", retryIn.Round(time.Second).String())
		}
	}
	return s, nil
}

// Summary is what one pass over the spool did.
type Summary struct {
	Sent     int // messages accepted for every recipient still to be tried
	Deferred int // messages that stay queued after a temporary failure
	Failed   int // messages moved to failed/
	Rejected int // recipients refused for good (their messages may still have been sent)
	Waiting  int // messages not yet due for another attempt
	// Connections counts the connections opened.
	Connections int
	// NextDue is the earliest time a waiting or deferred message is due
	// (zero: none).
	NextDue time.Time
	// Err stopped the pass early: the server could not be reached or
	// logged in to, the connection kept breaking, or the spool could not
	// be read. The messages not tried yet are untouched.
	Err error
	// Stopped: the context ended the pass.
	Stopped bool
}

// OK reports whether the pass went well: nothing deferred, failed or
// rejected, and no error.
func (s Summary) OK() bool {
	return s.Err == nil && !s.Stopped && s.Deferred == 0 && s.Failed == 0 && s.Rejected == 0
}

func (s Summary) attempted() int { return s.Sent + s.Deferred + s.Failed }

func (s *Summary) due(t time.Time) {
	if s.NextDue.IsZero() || t.Before(s.NextDue) {
		s.NextDue = t
	}
}

// Run sends until ctx ends: a pass, then the next one at once if the pass
// sent anything, else after PollInterval or when a retry is due, whichever
// is first. A pass that cannot connect is reported and retried with a
// capped exponential backoff; nothing stops Run but ctx.
func (s *Sender) Run(ctx context.Context) {
	bo := backoff.Backoff{Min: 10 * time.Second, Max: 5 * time.Minute}
	for {
		sum := s.Pass(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := s.cfg.PollInterval
		if sum.Err != nil {
			wait = bo.After(sum.Err, s.cfg.PollInterval)
			s.retries.Failed("cannot send the queued mail", "still cannot send", sum.Err, wait)
		} else {
			bo.Reset()
			s.retries.Reset()
			if sum.attempted() > 0 {
				wait = 0
			}
			if !sum.NextDue.IsZero() {
				wait = max(0, min(wait, sum.NextDue.Sub(s.clock.Now())))
			}
		}
		if !s.clock.Sleep(ctx, wait) {
			return
		}
	}
}

// Pass sends every message in new/ that is due, oldest first, over as few
// connections as MaxPerConnection allows, and logs a summary.
func (s *Sender) Pass(ctx context.Context) (sum Summary) {
	start := time.Now()
	sess := &session{s: s}
	defer func() {
		sess.quit()
		sum.Connections = sess.opened
		s.logSummary(sum, time.Since(start))
		if s.cfg.Passed != nil {
			s.cfg.Passed(sum.Err)
		}
	}()
	queue, err := s.cfg.Spool.list()
	if err != nil {
		sum.Err = err
		return sum
	}
	for _, q := range queue {
		if ctx.Err() != nil {
			sum.Stopped = true
			break
		}
		if !s.one(ctx, q, sess, &sum) {
			break
		}
	}
	return sum
}

func (s *Sender) logSummary(sum Summary, took time.Duration) {
	// A failure has its own line (Report), so a pass that tried nothing
	// is summed up at the idle level even when it failed.
	level := s.idleLevel
	if sum.attempted() > 0 {
		level = slog.LevelInfo
	}
	args := []any{"sent", sum.Sent, "deferred", sum.Deferred, "failed", sum.Failed,
		"rejected_rcpts", sum.Rejected, "waiting", sum.Waiting, "connections", sum.Connections,
		"took", took.Round(time.Millisecond).String()}
	if !sum.NextDue.IsZero() {
		args = append(args, "next_retry", sum.NextDue.Format(time.RFC3339))
	}
	if sum.Err != nil {
		args = append(args, "stopped_by", sum.Err.Error())
	}
	s.log.Log(context.Background(), level, "pass", args...)
}

// one handles one queued message; false ends the pass.
func (s *Sender) one(ctx context.Context, q queued, sess *session, sum *Summary) bool {
	log := s.log.With("file", q.name)
	st := &retryState{}
	if q.hasState {
		var err error
		if st, err = s.cfg.Spool.loadState(q.name); err != nil {
			// Only batchmail writes it, atomically; if it is damaged
			// anyway, sending again is better than never sending.
			log.Warn("the message's retry state is unreadable; starting afresh", "err", err.Error())
			st = &retryState{}
		}
	}
	if st.NextAttempt.After(s.clock.Now()) {
		sum.Waiting++
		sum.due(st.NextAttempt)
		return true
	}
	m, err := openMessage(s.cfg.Spool.path(DirNew, q.name))
	var fe *FormatError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true // taken out of the queue meanwhile
	case errors.As(err, &fe):
		return s.fail(log, q.name, st, sum, note{outcome: "not sent: this file is not a message batchmail can send",
			problem: fe.Error(), hint: hintFix})
	case err != nil:
		return s.deferMessage(log, q.name, st, sum, "read the message: "+err.Error(), 0)
	}
	defer m.Close()
	rcpts := st.remaining(m.rcpts)
	if len(rcpts) == 0 { // every recipient was done before a restart
		return s.conclude(log, q.name, m, st, sum)
	}
	if !s.limit.wait(ctx) {
		sum.Stopped = true
		return false
	}
	if s.cfg.API != nil {
		return s.oneAPI(ctx, log, q.name, m, st, rcpts, sum)
	}
	c, err := sess.get(ctx)
	if err != nil {
		if ctx.Err() != nil {
			sum.Stopped = true
		} else {
			sum.Err = err
		}
		return false
	}
	if limit := sizeLimit(c); limit > 0 && m.wireSize() > limit {
		return s.fail(log, q.name, st, sum, note{outcome: "not sent: the message is larger than the server accepts",
			problem: fmt.Sprintf("the message is %d bytes; the server announces a limit of %d bytes (EHLO SIZE %d)", m.wireSize(), limit, limit),
			hint:    "Send large files another way (a link to a file share), or ask the server's admin to raise the limit."})
	}
	stop, cancel := graceful(ctx, s.cfg.Grace)
	res := transact(stop, c, s.timeout, s.cfg.From, rcpts, m.transmitted(), s.buf)
	// Abandoned: cut off by the end of the grace period (not finished
	// just before it).
	abandoned := res.broken && stop.Err() != nil
	cancel()
	s.limit.done()
	sess.after(res)
	if abandoned {
		log.Info("stopping: the message in flight was abandoned and stays queued")
		sum.Stopped = true
		return false
	}
	if !s.apply(log, q.name, m, st, res, sum) {
		return false
	}
	if sess.breaks >= maxBreaks {
		sum.Err = fmt.Errorf("the connection to %s broke %d times in a row; the last time at %s: %s", s.cfg.Server, sess.breaks, res.stage, res.reply)
		return false
	}
	return true
}

// apply records a transaction's result: delivered and rejected recipients,
// then the message's fate. It, conclude, fail and deferMessage return
// false when the spool cannot be written: that ends the pass with an error,
// so that Run backs off instead of sending the message again at once.
func (s *Sender) apply(log *slog.Logger, name string, m *message, st *retryState, res result, sum *Summary) bool {
	for _, r := range res.rejected {
		log.Warn("recipient rejected", "rcpt", r.Rcpt, "reply", r.Reply)
		st.Rejected = append(st.Rejected, r)
		sum.Rejected++
	}
	st.Delivered = append(st.Delivered, res.delivered...)
	switch {
	case len(st.remaining(m.rcpts)) == 0:
		return s.conclude(log, name, m, st, sum)
	case res.permanent:
		return s.fail(log, name, st, sum, note{outcome: "not sent: the server refused the message for good",
			stage: res.stage, reply: res.reply, hint: hintRequeue})
	}
	reason := res.reply
	if res.err == nil && len(res.deferred) > 0 {
		// Delivered to some; the others were turned away for now.
		r := res.deferred[0]
		reason = fmt.Sprintf("%s <%s>: %s", stageRcpt, r.Rcpt, r.Reply)
	} else if res.stage != "" {
		reason = res.stage + ": " + reason
	}
	return s.deferMessage(log, name, st, sum, reason, 0)
}

// conclude finishes a message every recipient of which is done: sent if
// anyone got it, failed if the server refused every recipient.
func (s *Sender) conclude(log *slog.Logger, name string, m *message, st *retryState, sum *Summary) bool {
	if len(st.Delivered) == 0 {
		return s.fail(log, name, st, sum, note{outcome: "not sent: the server refused every recipient", hint: hintRequeue})
	}
	var text string
	if len(st.Rejected) > 0 {
		text = s.noteText(name, st, note{outcome: "sent, but the server refused some recipients",
			hint: "The message went to the recipients listed as delivered. Correct the refused addresses in the application that wrote the message."})
	}
	sum.Sent++
	if err := s.cfg.Spool.finish(name, DirSent, text, s.cfg.DeleteSent && text == ""); err != nil {
		// The server has the message. Remember that, so that the next
		// pass only finishes it instead of sending it again.
		if serr := s.cfg.Spool.saveState(name, st); serr != nil {
			sum.Err = fmt.Errorf("%s was sent, but the spool cannot be written, so it may be sent again: %w", name, err)
		} else {
			sum.Err = fmt.Errorf("%s was sent, but cannot leave new/: %w", name, err)
		}
		return false
	}
	log.Info("sent", "rcpts", len(st.Delivered), "bytes", m.size, "attempts", st.Attempts+1)
	return true
}

// fail moves a message to failed/ with a note saying why.
func (s *Sender) fail(log *slog.Logger, name string, st *retryState, sum *Summary, n note) bool {
	sum.Failed++
	if err := s.cfg.Spool.finish(name, DirFailed, s.noteText(name, st, n), false); err != nil {
		sum.Err = fmt.Errorf("%s failed (%s), but cannot be moved to failed/: %w", name, n.outcome, err)
		return false
	}
	args := []any{"why", n.outcome}
	if n.reply != "" {
		args = append(args, "reply", n.reply)
	}
	if n.problem != "" {
		args = append(args, "problem", n.problem)
	}
	log.Error("failed: moved to failed/", args...)
	return true
}

// deferMessage records a temporary failure: one more attempt, and the
// next one after a capped exponential backoff, or after the server's
// Retry-After (notBefore) if that is later.
func (s *Sender) deferMessage(log *slog.Logger, name string, st *retryState, sum *Summary, reason string, notBefore time.Duration) bool {
	now := s.clock.Now()
	st.Attempts++
	if st.FirstAttempt.IsZero() {
		st.FirstAttempt = now
	}
	st.LastAttempt = now
	st.NextAttempt = now.Add(max(backoff.Backoff{Min: s.cfg.RetryMin, Max: s.cfg.RetryMax}.Delay(st.Attempts), notBefore))
	st.LastReply = reason
	sum.Deferred++
	sum.due(st.NextAttempt)
	if err := s.cfg.Spool.saveState(name, st); err != nil {
		sum.Err = fmt.Errorf("%s was deferred (%s), but its retry state cannot be written: %w", name, reason, err)
		return false
	}
	log.Warn("deferred", "reason", reason, "attempts", st.Attempts, "retry_at", st.NextAttempt.Format(time.RFC3339))
	return true
}

// sizeLimit is the message size the server announces in EHLO (RFC 1870),
// or 0 when it announces none.
func sizeLimit(c *smtp.Client) int64 {
	ok, param := c.Extension("SIZE")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(param), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// graceful returns a context that ends grace after ctx ends, so that the
// message in flight may finish.
func graceful(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-g.Done():
		}
	})
	return g, func() { stop(); cancel() }
}

// session is a pass's connection: opened when the first message needs it,
// reset between messages, replaced after MaxPerConnection messages or when
// it breaks.
type session struct {
	s      *Sender
	c      *smtp.Client
	n      int // messages sent over c
	opened int
	breaks int // transactions in a row that lost their connection
}

func (ss *session) get(ctx context.Context) (*smtp.Client, error) {
	if ss.c != nil && ss.n >= ss.s.cfg.MaxPerConnection {
		ss.quit()
	}
	if ss.c != nil && ss.n > 0 {
		// RSET between messages; a connection that died while idle is
		// found here, before a message is charged for it.
		ss.c.UpdateDeadline(ss.s.timeout.command)
		if err := ss.c.Reset(); err != nil {
			ss.c.Close()
			ss.c = nil
		}
	}
	if ss.c == nil {
		c, err := ss.s.cfg.Dial(ctx)
		if err != nil {
			return nil, err
		}
		ss.c, ss.n = c, 0
		ss.opened++
	}
	return ss.c, nil
}

func (ss *session) after(res result) {
	ss.n++
	if res.broken {
		ss.c.Close()
		ss.c = nil
		ss.breaks++
		return
	}
	ss.breaks = 0
}

func (ss *session) quit() {
	if ss.c == nil {
		return
	}
	ss.c.UpdateDeadline(ss.s.timeout.command)
	if err := ss.c.Quit(); err != nil {
		ss.c.Close()
	}
	ss.c = nil
}
