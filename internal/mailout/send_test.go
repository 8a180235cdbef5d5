package mailout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/clock"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/smtpd"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
	"mailtokens/internal/worker"

	"github.com/wneessen/go-mail/smtp"
)

// Messages go out exactly as they are in the file, whatever they hold;
// the envelope is MAIL_FROM and the addresses of To and Cc.
func TestSendByteForByte(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	from := r.World.MSUser
	one := []string{"a@example.net"}
	cases := []struct {
		name, text string
		want       string // what the server must receive; "" = the file
		rcpts      []string
	}{
		{"plain", testMessage(from, "a@example.net", "plain", "Hello."), "", one},
		{"dots", testMessage(from, "a@example.net", "dots", ".\n..leading dots\n.\n. end"), "", one},
		{"8bit", testMessage(from, "Zoë Müller <zoe@example.net>", "8bit", "Grüße, 你好, ☃"), "", []string{"zoe@example.net"}},
		{"long line", testMessage(from, "a@example.net", "long line", strings.Repeat("x", 5000)), "", one},
		{"no newline", crlf("From: " + from + "\nTo: a@example.net\nSubject: no newline\n\nlast line without an end"),
			crlf("From: " + from + "\nTo: a@example.net\nSubject: no newline\n\nlast line without an end\n"), one},
		{"LF only", "From: " + from + "\nTo: a@example.net\nSubject: LF only\nX-Unknown-Header: kept\n" +
			"Received: from app (kept as is)\n\nbody\n",
			crlf("From: " + from + "\nTo: a@example.net\nSubject: LF only\nX-Unknown-Header: kept\n" +
				"Received: from app (kept as is)\n\nbody\n"), one},
		{"no body", crlf("From: " + from + "\nTo: a@example.net\nSubject: no body\n"), "", one},
		{"folded", crlf("From: " + from + "\nTo: a@example.net,\n\tb@example.net\nSubject: folded\n  on two lines\n\nx\n"), "",
			[]string{"a@example.net", "b@example.net"}},
		{"obs colon", crlf("From: " + from + "\nTo : a@example.net\nSubject: blank before the colon\n\nx\n"), "", one},
	}
	for _, c := range cases {
		queue(t, spool, c.name, c.text)
	}
	sum := s.Pass(context.Background())
	if !sum.OK() || sum.Sent != len(cases) || sum.Connections != 1 {
		t.Fatalf("pass: %+v", sum)
	}
	got := r.smtp.Received()
	if len(got) != len(cases) {
		t.Fatalf("server got %d messages, want %d", len(got), len(cases))
	}
	for _, c := range cases {
		i := slices.IndexFunc(got, func(m smtpd.Message) bool { return subjectOf(string(m.Raw)) == subjectOf(c.text) })
		if i < 0 {
			t.Errorf("%s: not received", c.name)
			continue
		}
		m := got[i]
		want := c.want
		if want == "" {
			want = c.text
		}
		if string(m.Raw) != want {
			t.Errorf("%s: server got\n%q\nwant\n%q", c.name, m.Raw, want)
		}
		if m.From != from || !slices.Equal(m.To, c.rcpts) {
			t.Errorf("%s: envelope %q -> %q, want %q -> %q", c.name, m.From, m.To, from, c.rcpts)
		}
	}
	if n := len(files(t, spool, DirSent)); n != len(cases) {
		t.Errorf("%d messages in sent/, want %d", n, len(cases))
	}
	if left := files(t, spool, DirNew); len(left) != 0 {
		t.Errorf("left in new/: %v", left)
	}
}

func subjectOf(msg string) string {
	return strings.TrimSpace(strings.TrimPrefix(headerLine(msg, "Subject"), "Subject:"))
}

func headerLine(msg, name string) string {
	for _, l := range strings.Split(msg, "\n") {
		if strings.HasPrefix(l, name+":") || strings.HasPrefix(l, name+" :") {
			return strings.TrimRight(l, "\r")
		}
	}
	return ""
}

// Bcc recipients get the message, but the Bcc field, folded over several
// lines, is not transmitted; groups, display names with commas and
// repeated addresses are handled.
func TestBccStrippedButDelivered(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	msg := crlf("From: Notifications <" + r.World.MSUser + ">\n" +
		"To: Team: \"Doe, Jane\" <jane@example.net>, bob@example.net;\n" +
		"Bcc: Auditor <audit@example.net>,\n" +
		"  archive@example.net,\n" +
		"\tJANE@example.net\n" +
		"Cc: undisclosed-recipients:;\n" +
		"Subject: quarterly figures\n" +
		"bcc:\n" +
		"\n" +
		"Bcc: this line is body, not header\n")
	queue(t, spool, "m1", msg)
	if sum := s.Pass(context.Background()); !sum.OK() || sum.Sent != 1 {
		t.Fatalf("pass: %+v", sum)
	}
	got := r.smtp.Received()
	if len(got) != 1 {
		t.Fatalf("server got %d messages", len(got))
	}
	want := crlf("From: Notifications <" + r.World.MSUser + ">\n" +
		"To: Team: \"Doe, Jane\" <jane@example.net>, bob@example.net;\n" +
		"Cc: undisclosed-recipients:;\n" +
		"Subject: quarterly figures\n" +
		"\n" +
		"Bcc: this line is body, not header\n")
	if string(got[0].Raw) != want {
		t.Errorf("transmitted\n%s\nwant\n%s", got[0].Raw, want)
	}
	if w := []string{"jane@example.net", "bob@example.net", "audit@example.net", "archive@example.net"}; !slices.Equal(got[0].To, w) {
		t.Errorf("RCPT TO %q, want %q", got[0].To, w)
	}
	if sent := readFile(t, spool.path(DirSent, "m1")); sent != msg {
		t.Errorf("sent/ holds\n%q\nwant the original\n%q", sent, msg)
	}
}

// A recipient refused for good is reported by name, in the log and in a
// note beside the message; the others get the message.
func TestRejectedRecipientReportedByName(t *testing.T) {
	r := newRig(t, rigOptions{})
	var logs logBuffer
	s, spool := r.sender(t, logs.logger(), nil)
	const reply = "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
	r.smtp.RejectRecipient("gone@example.net", 550, "5.1.10", reply)
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net, gone@example.net, c@example.net", "some refused", "x"))
	queue(t, spool, "m2", testMessage(r.World.MSUser, "gone@example.net", "all refused", "x"))
	sum := s.Pass(context.Background())
	if sum.Sent != 1 || sum.Failed != 1 || sum.Rejected != 2 || sum.OK() {
		t.Fatalf("pass: %+v", sum)
	}
	got := r.smtp.Received()
	if len(got) != 1 || !slices.Equal(got[0].To, []string{"a@example.net", "c@example.net"}) {
		t.Fatalf("server got %+v", got)
	}
	note := readFile(t, spool.path(DirSent, "m1.reply"))
	for _, w := range []string{"gone@example.net: 550 5.1.10 " + reply, "Delivered to: a@example.net, c@example.net", "refused some recipients"} {
		if !strings.Contains(note, w) {
			t.Errorf("sent/m1.reply lacks %q:\n%s", w, note)
		}
	}
	if !slices.Contains(files(t, spool, DirSent), "m1") {
		t.Error("m1 is not in sent/")
	}
	if note := readFile(t, spool.path(DirFailed, "m2.reply")); !strings.Contains(note, "refused every recipient") ||
		!strings.Contains(note, "gone@example.net: 550 5.1.10") {
		t.Errorf("failed/m2.reply:\n%s", note)
	}
	if n := strings.Count(logs.String(), `msg="recipient rejected" file=m1 rcpt=gone@example.net`); n != 1 {
		t.Errorf("%d log lines name the refused recipient of m1, want 1:\n%s", n, logs.String())
	}
}

// A 4xx keeps the message queued: attempts, next try and reply are
// recorded, the delay doubles, and it goes out when the server recovers.
func TestTemporaryFailureBacksOff(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	r.smtp.FailData(3, 451, "4.3.0", "Mail server temporarily rejected message")
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "retried", "x"))
	ctx := context.Background()
	start := r.clock.Now()
	for i, delay := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		sum := s.Pass(ctx)
		if sum.Deferred != 1 || sum.OK() {
			t.Fatalf("attempt %d: %+v", i+1, sum)
		}
		st := mustState(t, spool, "m1")
		now := r.clock.Now()
		if st.Attempts != i+1 || !st.NextAttempt.Equal(now.Add(delay)) || !st.FirstAttempt.Equal(start) ||
			st.LastReply != "end of data: 451 4.3.0 Mail server temporarily rejected message" {
			t.Fatalf("attempt %d: state %+v, want next attempt at %v", i+1, st, now.Add(delay))
		}
		// Not due yet: left alone.
		r.clock.Advance(delay - time.Second)
		if sum := s.Pass(ctx); sum.Waiting != 1 || sum.attempted() != 0 || !sum.NextDue.Equal(st.NextAttempt) {
			t.Fatalf("before the next try: %+v", sum)
		}
		r.clock.Advance(time.Second)
	}
	if sum := s.Pass(ctx); sum.Sent != 1 || !sum.OK() {
		t.Fatalf("after recovery: %+v", sum)
	}
	if len(r.smtp.Received()) != 1 || len(files(t, spool, DirNew)) != 0 || len(files(t, spool, DirSent)) != 1 {
		t.Fatalf("server %d, new/ %v, sent/ %v", len(r.smtp.Received()), files(t, spool, DirNew), files(t, spool, DirSent))
	}
}

// A recipient refused for now is tried again alone: the others, who have
// the message, do not get it twice.
func TestTemporarilyRefusedRecipientRetriedAlone(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	r.smtp.RejectRecipient("full@example.net", 452, "4.2.2", "Mailbox full")
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net, full@example.net", "partly deferred", "x"))
	ctx := context.Background()
	if sum := s.Pass(ctx); sum.Deferred != 1 {
		t.Fatalf("first pass: %+v", sum)
	}
	st := mustState(t, spool, "m1")
	if !slices.Equal(st.Delivered, []string{"a@example.net"}) || !strings.Contains(st.LastReply, "full@example.net") {
		t.Fatalf("state %+v", st)
	}
	r.smtp.AcceptRecipient("full@example.net")
	r.clock.Advance(time.Minute)
	if sum := s.Pass(ctx); sum.Sent != 1 || !sum.OK() {
		t.Fatalf("second pass: %+v", sum)
	}
	got := r.smtp.Received()
	if len(got) != 2 || !slices.Equal(got[0].To, []string{"a@example.net"}) || !slices.Equal(got[1].To, []string{"full@example.net"}) {
		t.Fatalf("server got %+v", got)
	}
}

// A 5xx for the message moves it to failed/ with the server's full reply
// beside it; the connection goes on with the next message.
func TestPermanentFailureMovesToFailed(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	r.smtp.FailData(1, 554, "5.6.0", "Corrupt message content; STOREDRV.Deliver.Exception:ConversionFailedException")
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "refused", "x"))
	queue(t, spool, "m2", testMessage(r.World.MSUser, "a@example.net", "fine", "x"))
	sum := s.Pass(context.Background())
	if sum.Failed != 1 || sum.Sent != 1 || sum.Connections != 1 {
		t.Fatalf("pass: %+v", sum)
	}
	if !slices.Equal(files(t, spool, DirFailed), []string{"m1", "m1.reply"}) {
		t.Fatalf("failed/: %v", files(t, spool, DirFailed))
	}
	note := readFile(t, spool.path(DirFailed, "m1.reply"))
	for _, w := range []string{"Reply: 554 5.6.0 Corrupt message content; STOREDRV.Deliver.Exception:ConversionFailedException",
		"Stopped at: end of data", "Server: " + r.addr, "move the message back into new/"} {
		if !strings.Contains(note, w) {
			t.Errorf("note lacks %q:\n%s", w, note)
		}
	}
	if len(files(t, spool, DirNew)) != 0 {
		t.Errorf("new/: %v", files(t, spool, DirNew))
	}
}

// Exchange refuses another sender's address as MAIL FROM after the data.
func TestSendAsDeniedIsPermanent(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, func(c *Config) { c.From = "ceo@contoso.example" })
	queue(t, spool, "m1", testMessage("ceo@contoso.example", "a@example.net", "impersonation", "x"))
	if sum := s.Pass(context.Background()); sum.Failed != 1 {
		t.Fatalf("pass: %+v", sum)
	}
	if note := readFile(t, spool.path(DirFailed, "m1.reply")); !strings.Contains(note, "554 5.2.252 SendAsDenied") {
		t.Errorf("note:\n%s", note)
	}
}

// The server takes the whole message and hangs up instead of answering:
// the message may or may not have gone out, so it is sent again — never
// lost.
func TestDropAfterDataIsRetried(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	r.smtp.DropAfterData(1)
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "dropped", "x"))
	queue(t, spool, "m2", testMessage(r.World.MSUser, "a@example.net", "after the drop", "x"))
	ctx := context.Background()
	sum := s.Pass(ctx)
	if sum.Deferred != 1 || sum.Sent != 1 || sum.Connections != 2 {
		t.Fatalf("first pass: %+v", sum)
	}
	if st := mustState(t, spool, "m1"); st.Attempts != 1 || !strings.HasPrefix(st.LastReply, "end of data: ") {
		t.Fatalf("state %+v", st)
	}
	r.clock.Advance(time.Minute)
	if sum := s.Pass(ctx); sum.Sent != 1 || !sum.OK() {
		t.Fatalf("retry: %+v", sum)
	}
	got := r.smtp.Received()
	if len(got) != 3 || !got[0].Dropped || subjectOf(string(got[2].Raw)) != "dropped" {
		t.Fatalf("server got %d messages: %+v", len(got), got)
	}
	if !slices.Equal(files(t, spool, DirSent), []string{"m1", "m2"}) {
		t.Fatalf("sent/: %v", files(t, spool, DirSent))
	}
}

// One connection carries MAIL_MAX_PER_CONNECTION messages; each new one
// logs in again.
func TestMaxPerConnection(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, func(c *Config) { c.MaxPerConnection = 2 })
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		queue(t, spool, n, testMessage(r.World.MSUser, "x@example.net", n, "x"))
	}
	sum := s.Pass(context.Background())
	if sum.Sent != 5 || sum.Connections != 3 {
		t.Fatalf("pass: %+v", sum)
	}
	if st := r.smtp.Stats()[strings.ToLower(r.World.MSUser)]; st.Logins != 3 {
		t.Fatalf("logins %+v, want 3", st)
	}
	tok, err := r.Store.Get(context.Background(), "ms")
	if err != nil || tok.LastUsedBy != "batchmail" {
		t.Fatalf("last used by %q (%v), want batchmail", tok.LastUsedBy, err)
	}
}

// MAIL_RATE_PER_MINUTE keeps the sender under a server's limit: measured
// on the shared fake clock, no 60 seconds see more than the limit, and the
// server throttles nobody. Without the limit, the same server throttles.
func TestRateLimitHonoured(t *testing.T) {
	const limit, n = 3, 10
	r := newRig(t, rigOptions{ratePerMinute: limit})
	s, spool := r.sender(t, nil, func(c *Config) { c.RatePerMinute = limit })
	for i := range n {
		queue(t, spool, string(rune('a'+i)), testMessage(r.World.MSUser, "x@example.net", string(rune('a'+i)), "x"))
	}
	start := r.clock.Now()
	sum := s.Pass(context.Background())
	if sum.Sent != n || !sum.OK() {
		t.Fatalf("pass: %+v", sum)
	}
	got := r.smtp.Received()
	for i := limit; i < len(got); i++ {
		if gap := got[i].Time.Sub(got[i-limit].Time); gap < time.Minute {
			t.Errorf("messages %d and %d accepted %v apart: more than %d in a minute", i-limit, i, gap, limit)
		}
	}
	if took := r.clock.Now().Sub(start); took < 3*time.Minute || took > 4*time.Minute {
		t.Errorf("%d messages at %d a minute took %v on the clock", n, limit, took)
	}

	// The control: without the limit the server throttles (421, closing).
	s2, spool2 := r.sender(t, nil, nil)
	r.clock.Advance(time.Hour)
	for i := range n {
		queue(t, spool2, string(rune('a'+i)), testMessage(r.World.MSUser, "x@example.net", "again", "x"))
	}
	sum = s2.Pass(context.Background())
	if sum.Sent != limit || sum.Deferred == 0 {
		t.Fatalf("without the limit: %+v", sum)
	}
	if st := mustState(t, spool2, "d"); !strings.Contains(st.LastReply, "421 4.4.2") {
		t.Fatalf("throttled message's state: %+v", st)
	}
}

// SMTP AUTH disabled for the mailbox: the pass stops before touching any
// message, the advice says how to enable it — once, however often the
// worker retries — and the worker keeps running with a growing backoff.
func TestSMTPAuthDisabledExplainedOnce(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.Directory.DisableSMTPAuth(r.World.MSUser)
	var logs logBuffer
	task := &worker.Task{Log: logs.logger()}
	clock := &countingClock{Fake: r.clock}
	s, spool := r.sender(t, task.Log, func(c *Config) { c.Report = task.Report; c.Clock = clock })
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "blocked", "x"))

	sum := s.Pass(context.Background())
	var ce *mailconn.Error
	if !errors.As(sum.Err, &ce) || !strings.Contains(ce.Reply, "5.7.139") || sum.attempted() != 0 {
		t.Fatalf("pass: %+v", sum)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clock.onSleep = func(n int, d time.Duration) {
		clock.sleeps = append(clock.sleeps, d)
		if n == 4 {
			cancel()
		}
	}
	s.Run(ctx)
	out := logs.String()
	if n := strings.Count(out, "Set-CASMailbox"); n != 1 {
		t.Errorf("the advice appears %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "still cannot send"); n != 3 {
		t.Errorf("%d short repeats, want 3:\n%s", n, out)
	}
	if n := strings.Count(out, "level=INFO msg=pass"); n != 0 {
		t.Errorf("the failure is logged again in %d pass summaries at INFO:\n%s", n, out)
	}
	if want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}; !slices.Equal(clock.sleeps, want) {
		t.Errorf("backoff %v, want %v", clock.sleeps, want)
	}
	if !slices.Equal(files(t, spool, DirNew), []string{"m1"}) {
		t.Errorf("new/: %v", files(t, spool, DirNew))
	}
}

// countingClock lets a test watch and end Run's pauses.
type countingClock struct {
	*clock.Fake
	n       int
	sleeps  []time.Duration
	onSleep func(n int, d time.Duration)
}

func (c *countingClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.n++
	if c.onSleep != nil {
		c.onSleep(c.n, d)
	}
	return c.Fake.Sleep(ctx, d)
}

// A file that is not a message goes to failed/ with what is wrong with
// it; the rest of the queue is sent.
func TestNotAMessageGoesToFailed(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	queue(t, spool, "junk", "this is not a message\n")
	queue(t, spool, "norcpt", crlf("From: a@example.net\nSubject: nobody\n\nx\n"))
	queue(t, spool, "ok", testMessage(r.World.MSUser, "a@example.net", "ok", "x"))
	sum := s.Pass(context.Background())
	if sum.Failed != 2 || sum.Sent != 1 {
		t.Fatalf("pass: %+v", sum)
	}
	if note := readFile(t, spool.path(DirFailed, "junk.reply")); !strings.Contains(note, `line 1: "this is not a message" is neither a header field`) {
		t.Errorf("junk.reply:\n%s", note)
	}
	if note := readFile(t, spool.path(DirFailed, "norcpt.reply")); !strings.Contains(note, "no recipients") {
		t.Errorf("norcpt.reply:\n%s", note)
	}
}

// MAIL_KEEP_SENT = NO deletes what the server accepted.
func TestKeepSentNo(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, func(c *Config) { c.DeleteSent = true })
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "gone", "x"))
	if sum := s.Pass(context.Background()); sum.Sent != 1 {
		t.Fatalf("pass: %+v", sum)
	}
	if len(files(t, spool, DirNew)) != 0 || len(files(t, spool, DirSent)) != 0 {
		t.Fatalf("new/ %v sent/ %v", files(t, spool, DirNew), files(t, spool, DirSent))
	}
}

// A state file survives a restart, and one left behind by a message that
// has already left new/ is removed.
func TestStateSurvivesRestart(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	r.smtp.FailData(1, 421, "4.3.2", "System not accepting network messages")
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "restart", "x"))
	if sum := s.Pass(context.Background()); sum.Deferred != 1 {
		t.Fatalf("pass: %+v", sum)
	}
	// A new Sender, as after a restart, waits for the recorded time.
	s2, _ := r.sender(t, nil, func(c *Config) { c.Spool = spool })
	if sum := s2.Pass(context.Background()); sum.Waiting != 1 || sum.attempted() != 0 {
		t.Fatalf("after restart: %+v", sum)
	}
	if err := spool.saveState("vanished", &retryState{Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Minute)
	if sum := s2.Pass(context.Background()); sum.Sent != 1 {
		t.Fatalf("when due: %+v", sum)
	}
	if left := files(t, spool, DirNew); len(left) != 0 {
		t.Fatalf("new/ after the pass: %v", left)
	}
}

// A message larger than the SIZE the server announces is not sent: it
// goes to failed/ with both sizes.
func TestTooLargeForServer(t *testing.T) {
	r := newRig(t, rigOptions{maxMessageBytes: 10000})
	s, spool := r.sender(t, nil, nil)
	writeMessage(t, spool.path(DirNew, "big"), r.World.MSUser, "big", 20000)
	queue(t, spool, "small", testMessage(r.World.MSUser, "a@example.net", "small", "x"))
	if sum := s.Pass(context.Background()); sum.Failed != 1 || sum.Sent != 1 {
		t.Fatalf("pass: %+v", sum)
	}
	if note := readFile(t, spool.path(DirFailed, "big.reply")); !strings.Contains(note, "the server announces a limit of 10000 bytes") {
		t.Fatalf("note:\n%s", note)
	}
	if got := r.smtp.Received(); len(got) != 1 {
		t.Fatalf("server got %d messages", len(got))
	}
}

// When a sent message cannot leave new/, the pass stops with an error (Run
// backs off instead of looping), and the message is remembered as
// delivered: the next pass moves it without sending it again.
func TestSentButSpoolBrokenNotResent(t *testing.T) {
	r := newRig(t, rigOptions{})
	s, spool := r.sender(t, nil, nil)
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "once", "x"))
	sent := filepath.Join(spool.Dir, DirSent)
	if err := os.Remove(sent); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sent, nil, 0o600); err != nil { // sent/ is now a file
		t.Fatal(err)
	}
	sum := s.Pass(context.Background())
	if sum.Err == nil || !strings.Contains(sum.Err.Error(), "m1 was sent, but cannot leave new/") {
		t.Fatalf("pass: %+v", sum)
	}
	os.Remove(sent)
	os.Mkdir(sent, 0o750)
	if sum := s.Pass(context.Background()); sum.Sent != 1 || !sum.OK() {
		t.Fatalf("second pass: %+v", sum)
	}
	if n := len(r.smtp.Received()); n != 1 {
		t.Fatalf("the server got %d copies", n)
	}
	if !slices.Equal(files(t, spool, DirSent), []string{"m1"}) || len(files(t, spool, DirNew)) != 0 {
		t.Fatalf("sent/ %v new/ %v", files(t, spool, DirSent), files(t, spool, DirNew))
	}
}

// A token the server refuses although the store thought it good is
// refreshed once (by mailconn) and the queue goes out.
func TestRefusedTokenRefreshedOnce(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	_, rt, err := r.IDP.MintToken(ctx, r.World, provider.Microsoft, r.World.MSUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Store.SaveGrant(ctx, "ms", tokenstore.GrantPasted, &provider.Token{AccessToken: secret.New("revoked-at-the-server"),
		RefreshToken: secret.New(rt), ExpiresIn: time.Hour}, tokenstore.ActorCLI); err != nil {
		t.Fatal(err)
	}
	s, spool := r.sender(t, nil, nil)
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "after refresh", "x"))
	before := len(r.IDP.Refreshes())
	if sum := s.Pass(ctx); sum.Sent != 1 || !sum.OK() {
		t.Fatalf("pass: %+v", sum)
	}
	if n := len(r.IDP.Refreshes()) - before; n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

// TestWaitsForAuthorizationAtThePollInterval: while the token waits for an
// admin's Get Email Token, batchmail looks again every poll interval (not
// on the growing backoff), so the mail goes soon after the click.
func TestWaitsForAuthorizationAtThePollInterval(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	if _, err := r.Store.Create(ctx, tokens.Settings(r.IDP, r.World, "later", provider.Microsoft), tokenstore.ActorCLI); err != nil {
		t.Fatal(err)
	}
	src := r.Store.Source("later", tokenstore.ActorBatchmail)
	srv := serverOf(t, r.addr, mailserver.STARTTLS)
	srv.RootCAs = r.Cert.Pool()
	clock := &countingClock{Fake: r.clock}
	var logs logBuffer
	s, spool := r.sender(t, logs.logger(), func(c *Config) {
		c.Clock = clock
		c.PollInterval = 3 * time.Second
		c.Dial = func(ctx context.Context) (*smtp.Client, error) {
			return mailconn.DialSMTP(ctx, srv, mailconn.Auth{User: r.World.MSUser, Tokens: src}, mailconn.Options{})
		}
	})
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "waiting", "x"))
	runCtx, cancel := context.WithCancel(ctx)
	clock.onSleep = func(n int, d time.Duration) {
		clock.sleeps = append(clock.sleeps, d)
		if n == 3 {
			// The admin clicks Get Email Token.
			if _, err := tokens.Authorize(ctx, r.Store, r.IDP, r.World, "later", provider.Microsoft); err != nil {
				t.Error(err)
			}
		}
		if len(files(t, spool, DirSent)) == 1 {
			cancel()
		}
	}
	s.Run(runCtx)
	if len(files(t, spool, DirSent)) != 1 {
		t.Fatalf("not sent after authorization:\n%s", logs.String())
	}
	for i, d := range clock.sleeps[:3] {
		if d != 3*time.Second {
			t.Fatalf("pause %d while waiting for authorization was %v, want the 3s poll interval (pauses %v)", i, d, clock.sleeps)
		}
	}
}
