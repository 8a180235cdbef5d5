package mailout

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/sandbox/dovecot"
)

// The workload of the throughput benchmarks: 2,000 messages of about
// 20 KB.
const (
	benchMessages = 2000
	benchSize     = 20 << 10
)

// writeMessage writes a message of about size bytes to path, its body in
// 78-character lines.
func writeMessage(tb testing.TB, path, from, subject string, size int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, crlf(fmt.Sprintf("From: %s\nTo: Customer <customer@example.net>\nBcc: archive@example.net\n"+
		"Subject: %s\nMessage-ID: <%s@bench>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n",
		from, subject, strings.ReplaceAll(subject, " ", "-"))))
	line := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 2)[:76] + "\r\n"
	for n := 0; n < size; n += len(line) {
		w.WriteString(line)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// benchSend measures messages per second for one pass over 2,000 queued
// messages; queueing them is not measured.
func benchSend(b *testing.B, dial func(context.Context) (*smtp.Client, error), from string) {
	benchSendWith(b, from, func(c *Config) { c.Dial = dial })
}

// benchSendWith is benchSend with the Config's transport set by set.
func benchSendWith(b *testing.B, from string, set func(*Config)) {
	spool, err := OpenSpool(filepath.Join(b.TempDir(), "outbox"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Spool: spool, From: from}
	set(&cfg)
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := range benchMessages {
			name := fmt.Sprintf("r%d-m%04d", i, j)
			writeMessage(b, spool.path(DirNew, name), from, name, benchSize)
		}
		b.StartTimer()
		if sum := s.Pass(context.Background()); sum.Sent != benchMessages || !sum.OK() {
			b.Fatalf("pass: %+v", sum)
		}
	}
	b.ReportMetric(float64(benchMessages*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDovecotSubmission: batchmail's throughput through Dovecot's
// submission service (STARTTLS, XOAUTH2 checked by introspection, 100
// messages per connection), which relays to smtp-sink; no rate limit.
func BenchmarkDovecotSubmission(b *testing.B) {
	r := newDovecotRig(b)
	benchSend(b, r.dialer(b), r.World.MSUser)
}

// BenchmarkSinkCeiling: the same straight to smtp-sink, without TLS or
// login — the ceiling the Dovecot figure is measured against.
func BenchmarkSinkCeiling(b *testing.B) {
	sink := dovecot.StartSink(b)
	benchSend(b, dialNoAuth(sink.Addr), "notifications@contoso.example")
}

// BenchmarkPeakRSS50MB runs batchmail -once as a process that sends one
// 50 MB message, and reports its peak resident set size, VmHWM (the goal
// is under 40 MB). The server is the sandbox's Exchange-like one (STARTTLS,
// XOAUTH2, a 150 MB limit): Dovecot 2.3's submission drops a DATA over 40 MB.
func BenchmarkPeakRSS50MB(b *testing.B) {
	r := newRig(b, rigOptions{})
	for i := 0; i < b.N; i++ {
		b.ReportMetric(peakRSS(b, r, 50<<20), "peak-RSS-MB")
	}
}

// TestPeakRSS50MB is the benchmark's check, outside the race detector
// (which multiplies memory use).
func TestPeakRSS50MB(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("measures memory: not under -race or -short")
	}
	r := newRig(t, rigOptions{})
	mb := peakRSS(t, r, 50<<20)
	t.Logf("peak RSS %.1f MB", mb)
	if mb >= 40 {
		t.Fatalf("peak RSS %.1f MB sending a 50 MB message, want under 40", mb)
	}
}

// peakRSS sends one message of size bytes with a batchmail process and
// returns the process's peak RSS in MB, as the process saw it (VmHWM).
func peakRSS(tb testing.TB, r *rig, size int) float64 {
	tb.Helper()
	spoolDir := filepath.Join(tb.TempDir(), "outbox")
	spool, err := OpenSpool(spoolDir)
	if err != nil {
		tb.Fatal(err)
	}
	writeMessage(tb, spool.path(DirNew, "large"), r.World.MSUser, "large", size)
	conf := r.conf(tb, spoolDir, "MAIL_KEEP_SENT = NO\n")
	run := runBatchmail(tb, 10*time.Minute, "-conf", conf, "-once")
	if run.code != 0 || run.killed {
		tb.Fatalf("batchmail: exit %d, killed %v\n%s", run.code, run.killed, run.log)
	}
	if got := r.smtp.Received(); len(got) == 0 || len(got[len(got)-1].Raw) < size {
		tb.Fatalf("the server did not get the message")
	}
	if run.peak == 0 {
		tb.Skip("no VmHWM from the process (not Linux?)")
	}
	return run.peak
}
