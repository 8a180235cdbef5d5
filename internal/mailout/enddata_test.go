package mailout

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailtokens/internal/clock"
)

// readData reads a message up to and including its final dot, and says
// whether the dot came.
func readData(r *bufio.Reader) bool {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if line == ".\r\n" {
			return true
		}
	}
}

// TestCloseBeforeFinalReply: the server accepts DATA and closes the
// connection before its reply to the end of the data is whole — at once,
// after the final dot, in the middle of the reply line, after a 421. The
// message stays queued and goes again at the next attempt: never lost,
// never failed, at most one duplicate. Only a reply that got as far as
// "250 " counts as sent (a server says 250 once it has the message).
func TestCloseBeforeFinalReply(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply string // after the final dot; "-" closes before reading it
		sent  bool   // the first attempt counts as sent
	}{
		{"at once", "-", false},
		{"after the final dot", "", false},
		{"after 2", "2", false},
		{"after 25", "25", false},
		{"after 250", "250", false},
		{"after 250-", "250-first line\r\n", false},
		{"after a 250 line without CRLF", "250 2.0.0 queued", true},
		{"after 421", "421 4.3.2 shutting down\r\n", false},
		{"after 451", "451 4.3.0 try later\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var datas, dots atomic.Int32
			dial := fakeSMTP(t, func(conn net.Conn, r *bufio.Reader) {
				if datas.Add(1) > 1 { // the retry goes through
					if readData(r) {
						dots.Add(1)
					}
					conn.Write([]byte("250 2.0.0 OK\r\n"))
					return
				}
				if tc.reply != "-" && readData(r) {
					dots.Add(1)
				}
				conn.Write([]byte(tc.reply))
				conn.Close()
			})
			spool, err := OpenSpool(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			queue(t, spool, "m1", testMessage("f@x.example", "a@x.example", "cut reply", "x"))
			clk := clock.NewFake(time.Now())
			s, err := New(Config{Spool: spool, From: "f@x.example", Dial: dial, Clock: clk, CommandTimeout: testTimeout, EndDataTimeout: testTimeout})
			if err != nil {
				t.Fatal(err)
			}
			sum := s.Pass(context.Background())
			if tc.sent {
				if sum.Sent != 1 || len(files(t, spool, DirSent)) != 1 {
					t.Fatalf("first pass: %+v, sent/ %v; want it sent", sum, files(t, spool, DirSent))
				}
				return
			}
			if sum.Deferred != 1 || sum.Failed != 0 {
				t.Fatalf("first pass: %+v; want the message deferred", sum)
			}
			if q := files(t, spool, DirNew); len(q) == 0 || q[len(q)-1] != "m1" {
				t.Fatalf("new/ holds %v, want m1 still queued", q)
			}
			clk.Advance(time.Hour)
			if sum := s.Pass(context.Background()); sum.Sent != 1 || !sum.OK() {
				t.Fatalf("retry: %+v", sum)
			}
			if got := files(t, spool, DirSent); len(got) != 1 || got[0] != "m1" {
				t.Fatalf("sent/ holds %v", got)
			}
			if len(files(t, spool, DirFailed)) != 0 || strings.Join(files(t, spool, DirNew), "") != "" {
				t.Fatalf("failed/ %v, new/ %v", files(t, spool, DirFailed), files(t, spool, DirNew))
			}
			if n := dots.Load(); n < 1 || n > 2 {
				t.Fatalf("the server got the whole message %d times, want once or twice", n)
			}
		})
	}
}
