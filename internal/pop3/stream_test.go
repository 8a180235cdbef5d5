package pop3_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/textproto"
	"runtime"
	"testing"

	"mailtokens/internal/pop3"
)

// largeMessageSize is 100 MB; under the race detector, whose
// instrumentation slows DotReader's byte loop about twentyfold, 16 MB,
// which is still far above the allocation bound the test checks.
var largeMessageSize = func() int {
	if raceEnabled {
		return 16 << 20
	}
	return 100 << 20
}()

// TestRetrStreamsLargeMessage passes a large generated message through Retr
// and checks that the client allocated a small fraction of it in total. The
// measure is TotalAlloc, which only grows and does not depend on when the
// garbage collector runs, so the test cannot flake on GC timing: a client
// that buffered the message would allocate at least its size.
func TestRetrStreamsLargeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("streams a 100 MB message")
	}
	addr, sent := largeMessageServer(t, largeMessageSize)
	c, err := pop3.Dial(context.Background(), addr, nil, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rc, err := c.Retr(1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)

	want := <-sent
	if n != want.size || !bytes.Equal(h.Sum(nil), want.sum) {
		t.Fatalf("received %d bytes with another checksum; want %d bytes", n, want.size)
	}
	const bound = 8 << 20
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("retrieving %d bytes allocated %d bytes", n, alloc)
	if alloc > bound {
		t.Errorf("retrieving a %d MB message allocated %d MB; the message must stream", n>>20, alloc>>20)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

type digest struct {
	size int64
	sum  []byte
}

// largeMessageServer serves one connection: a greeting, then for RETR a
// message of about size bytes made on the fly, without holding it — lines
// of 100 bytes, every 1000th starting with a dot (so stuffed on the wire),
// and one line of 100 kB. It sends the size and SHA-256 of the message as
// the client should see it (unstuffed, "\n" line endings).
func largeMessageServer(t *testing.T, size int) (string, <-chan digest) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	sent := make(chan digest, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := textproto.NewReader(bufio.NewReader(conn))
		w := bufio.NewWriterSize(conn, 64<<10)
		h := sha256.New()
		var total int64
		emit := func(wire []byte, stuffed bool) {
			w.Write(wire)
			content := wire[:len(wire)-2]
			if stuffed {
				content = content[1:]
			}
			h.Write(content)
			h.Write([]byte{'\n'})
			total += int64(len(content)) + 1
		}
		plain := append(bytes.Repeat([]byte("x"), 98), "\r\n"...)
		dotted := append([]byte(".."), plain[2:]...)
		long := append(bytes.Repeat([]byte("y"), 100000), "\r\n"...)

		w.WriteString("+OK ready\r\n")
		w.Flush()
		for {
			line, err := r.ReadLine()
			if err != nil {
				return
			}
			switch line {
			case "RETR 1":
				w.WriteString("+OK message follows\r\n")
				for i := 0; total < int64(size); i++ {
					switch {
					case i == 5000:
						emit(long, false)
					case i%1000 == 999:
						emit(dotted, true)
					default:
						emit(plain, false)
					}
				}
				w.WriteString(".\r\n")
				sent <- digest{total, h.Sum(nil)}
			default:
				w.WriteString("+OK\r\n")
			}
			w.Flush()
		}
	}()
	return ln.Addr().String(), sent
}
