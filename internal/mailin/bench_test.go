package mailin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/sandbox/dovecot"
)

// benchRig is the rig with a Dovecot checking the sandbox's tokens.
func benchRig(b *testing.B) (*rig, *dovecot.Server) {
	r := newRig(b)
	dc := r.Dovecot(b)
	return r, dc
}

// sizedMessage is a message of about size bytes, CRLF line ends.
func sizedMessage(i, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: sender@example.com\r\nTo: support@contoso.example\r\nSubject: bench %d\r\nMessage-ID: <b%d@example.com>\r\n\r\n", i, i)
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_", 1) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}

func dovecotTask(r *rig, dc *dovecot.Server, proto, maildir string) string {
	addr := dc.IMAPSAddr
	if proto == "POP3" {
		addr = dc.POP3SAddr
	}
	host, port := splitAddr(addr)
	return r.task("bench-"+proto, map[string]string{"MAILBOX_PROTOCOL": proto, "MAILBOX_HOST": host, "MAILBOX_PORT": port,
		"MAILBOX_TLS_CA_FILE": dc.CAFile, "MAILBOX_AFTER_DELIVERY": "DELETE", "MAILBOX_DELIVER_TO": "maildir:" + maildir,
		"LOG_LEVEL": "WARN", "MAILBOX_MAX_MESSAGE_SIZE": "0"}) // the 100 MB message is a little over 100 MiB
}

// BenchmarkReceive2000 downloads 2,000 messages of about 20 KB from Dovecot
// (TLS, XOAUTH2) into a Maildir with fsync, over IMAP and over POP3.
func BenchmarkReceive2000(b *testing.B) {
	for _, proto := range []string{"IMAP", "POP3"} {
		b.Run(proto, func(b *testing.B) {
			r, dc := benchRig(b)
			msgs := make([][]byte, 2000)
			for i := range msgs {
				msgs[i] = sizedMessage(i, 20<<10)
			}
			var total time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				dc.DeliverMany(b, r.World.MSUser, msgs)
				md := filepath.Join(r.Dir, fmt.Sprintf("inbox-%d", n))
				task := dovecotTask(r, dc, proto, md)
				b.StartTimer()
				start := time.Now()
				if code, log := r.run(task); code != 0 {
					b.Fatalf("exit %d\n%s", code, log)
				}
				total += time.Since(start)
				n++
				b.StopTimer()
				if got := len(maildir(b, md)); got != len(msgs) {
					b.Fatalf("%d delivered", got)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(n*len(msgs))/total.Seconds(), "msgs/s")
		})
	}
}

// BenchmarkMailboxSize receives a whole mailbox of 200, 2,000 and 20,000
// small messages over IMAP: the time per message should not grow with the
// mailbox.
func BenchmarkMailboxSize(b *testing.B) {
	for _, size := range []int{200, 2000, 20000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			r, dc := benchRig(b)
			msgs := make([][]byte, size)
			for i := range msgs {
				msgs[i] = sizedMessage(i, 2<<10)
			}
			var total time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				dc.DeliverMany(b, r.World.MSUser, msgs)
				task := dovecotTask(r, dc, "IMAP", filepath.Join(r.Dir, fmt.Sprintf("inbox-%d", n)))
				b.StartTimer()
				start := time.Now()
				if code, log := r.run(task); code != 0 {
					b.Fatalf("exit %d\n%s", code, log)
				}
				total += time.Since(start)
				n++
			}
			b.ReportMetric(float64(total.Microseconds())/float64(n*size), "µs/msg")
		})
	}
}

// peakRSS runs evmail -once as its own process and returns its peak
// resident set size in MiB.
func peakRSS(t testing.TB, task string) float64 {
	run := runEvmail(t, 10*time.Minute, "-conf", task, "-once")
	if run.code != 0 || run.killed {
		t.Fatalf("evmail: exit %d, killed %v\n%s", run.code, run.killed, run.log)
	}
	if run.peak == 0 {
		t.Skip("the peak RSS is read from /proc/self/status, which this system lacks")
	}
	return run.peak
}

// BenchmarkPeakRSS100MB receives one 100 MB message (IMAP) in a separate
// evmail process and reports its peak RSS.
func BenchmarkPeakRSS100MB(b *testing.B) {
	r, dc := benchRig(b)
	big := sizedMessage(0, 100<<20)
	var peak float64
	n := 0
	for b.Loop() {
		b.StopTimer()
		dc.DeliverMany(b, r.World.MSUser, [][]byte{big})
		task := dovecotTask(r, dc, "IMAP", filepath.Join(r.Dir, fmt.Sprintf("big-%d", n)))
		b.StartTimer()
		peak = max(peak, peakRSS(b, task))
		n++
	}
	b.ReportMetric(peak, "peak-RSS-MiB")
}

// TestLargeMessageMemory keeps the streaming honest: a 100 MB message must
// not be held in memory (a guard well above the 40 MB goal; the benchmark
// reports the figure).
func TestLargeMessageMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MB")
	}
	r := newRig(t)
	dc := r.Dovecot(t)
	dc.DeliverMany(t, r.World.MSUser, [][]byte{sizedMessage(0, 100<<20)})
	md := filepath.Join(r.Dir, "big")
	peak := peakRSS(t, dovecotTask(r, dc, "IMAP", md))
	t.Logf("peak RSS receiving 100 MB over IMAP: %.1f MiB", peak)
	entries, _ := os.ReadDir(filepath.Join(md, "new"))
	if len(entries) != 1 {
		t.Fatalf("%d files delivered", len(entries))
	}
	if info, _ := entries[0].Info(); info.Size() < 95<<20 {
		t.Fatalf("delivered %d bytes", info.Size())
	}
	if peak > 80 {
		t.Fatalf("peak RSS %.1f MiB: the message is being buffered", peak)
	}
}
