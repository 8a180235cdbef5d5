package mailout

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// fakeSMTP is a bare SMTP server for what the sandbox cannot do: hold a
// transaction in the middle. It answers every command with success and
// hands DATA to data, which reads the message from r and answers on conn.
func fakeSMTP(t *testing.T, data func(conn net.Conn, r *bufio.Reader)) (dial func(context.Context) (*smtp.Client, error)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				fmt.Fprint(conn, "220 fake ESMTP\r\n")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
					case "DATA":
						fmt.Fprint(conn, "354 go ahead\r\n")
						data(conn, r)
					case "QUIT":
						fmt.Fprint(conn, "221 bye\r\n")
						return
					default:
						fmt.Fprint(conn, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return dialNoAuth(ln.Addr().String())
}

// bigMessage queues a message larger than the socket buffers on both
// sides, so that a server that stops reading stalls the sender.
func bigMessage(t *testing.T, spool *Spool, name string, size int) {
	t.Helper()
	f, err := os.Create(spool.path(DirTmp, name))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, crlf("From: f@x.example\nTo: a@x.example\nSubject: big\n\n"))
	line := strings.Repeat("0123456789", 9) + "\r\n"
	for n := 0; n < size; n += len(line) {
		io.WriteString(f, line)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(spool.path(DirTmp, name), spool.path(DirNew, name)); err != nil {
		t.Fatal(err)
	}
}

// On SIGTERM (the context ending) in the middle of a message that does
// not finish within the grace period, the connection is closed before the
// end of the data — the server never gets the final dot, so it discards
// the message — and the message stays queued as it was.
func TestStopAbandonsStalledMessage(t *testing.T) {
	started := make(chan struct{})
	got := make(chan []byte, 1)
	dial := fakeSMTP(t, func(conn net.Conn, r *bufio.Reader) {
		close(started)
		time.Sleep(300 * time.Millisecond) // stop reading: the sender stalls
		rest, _ := io.ReadAll(r)           // until the sender closes
		got <- rest
	})
	spool, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bigMessage(t, spool, "big", 32<<20)
	s, err := New(Config{Spool: spool, From: "f@x.example", Dial: dial, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	sum := s.Pass(ctx)
	if !sum.Stopped || sum.attempted() != 0 {
		t.Fatalf("pass: %+v", sum)
	}
	select {
	case rest := <-got:
		if bytes.Contains(rest, []byte("\r\n.\r\n")) {
			t.Fatal("the server got the end of the data")
		}
	case <-time.After(testTimeout):
		t.Fatal("the connection was not closed")
	}
	if new := files(t, spool, DirNew); len(new) != 1 || new[0] != "big" {
		t.Fatalf("new/: %v", new)
	}
	if len(files(t, spool, DirSent))+len(files(t, spool, DirFailed)) != 0 {
		t.Fatal("the message was moved")
	}
}

// A message that finishes within the grace period is finished and moved;
// the next one is left for later.
func TestStopFinishesMessageInFlight(t *testing.T) {
	done := make(chan struct{})
	dial := fakeSMTP(t, func(conn net.Conn, r *bufio.Reader) {
		for {
			line, err := r.ReadString('\n')
			if err != nil || line == ".\r\n" {
				break
			}
		}
		close(done)
		time.Sleep(200 * time.Millisecond)
		fmt.Fprint(conn, "250 2.0.0 queued\r\n")
	})
	spool, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	queue(t, spool, "a", testMessage("f@x.example", "a@x.example", "first", "x"))
	queue(t, spool, "b", testMessage("f@x.example", "a@x.example", "second", "x"))
	os.Chtimes(spool.path(DirNew, "b"), time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	s, err := New(Config{Spool: spool, From: "f@x.example", Dial: dial, Grace: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-done
		cancel()
	}()
	sum := s.Pass(ctx)
	if sum.Sent != 1 || !sum.Stopped {
		t.Fatalf("pass: %+v", sum)
	}
	if sent := files(t, spool, DirSent); len(sent) != 1 || sent[0] != "a" {
		t.Fatalf("sent/: %v", sent)
	}
	if new := files(t, spool, DirNew); len(new) != 1 || new[0] != "b" {
		t.Fatalf("new/: %v", new)
	}
}
