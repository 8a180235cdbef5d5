package hostile

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"mailtokens/internal/sandbox/testcert"
)

func TestScript(t *testing.T) {
	s := Listen(t, nil, Script(
		Step{Send: "* OK hello\r\n"},
		Step{Expect: `^\S+ LOGIN `, Send: "$tag OK welcome\r\n"},
		Step{Send: "x", Repeat: 3},
		Step{Cut: true},
	))
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "a1 LOGIN u p\r\n")
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "* OK hello\r\na1 OK welcome\r\nxxx" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestScriptStartTLS: a script upgrades to TLS mid-conversation, as a
// server does after STARTTLS, and goes on inside TLS.
func TestScriptStartTLS(t *testing.T) {
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	s := Listen(t, nil, Script(
		Step{Expect: `^\S+ STARTTLS$`, Send: "$tag OK begin TLS\r\n", TLS: cert.ServerTLS()},
		Step{Expect: `^\S+ NOOP$`, Send: "$tag OK inside\r\n"},
	))
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "a STARTTLS\r\n")
	r := bufio.NewReader(c)
	if line, _ := r.ReadString('\n'); line != "a OK begin TLS\r\n" || r.Buffered() > 0 {
		t.Fatalf("got %q (%d more bytes)", line, r.Buffered())
	}
	conf := cert.ClientTLS()
	conf.ServerName = "127.0.0.1"
	tc := tls.Client(c, conf)
	io.WriteString(tc, "b NOOP\r\n")
	got, err := io.ReadAll(tc)
	if string(got) != "b OK inside\r\n" {
		t.Fatalf("inside TLS: got %q, %v", got, err)
	}
}

// TestProxyCut: the reply to the matching line is cut after CutAt bytes,
// over TLS without close_notify; other lines pass untouched.
func TestProxyCut(t *testing.T) {
	echo := Listen(t, nil, func(c *Conn) {
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			c.Send("you said " + line + "\r\n")
		}
	})
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	p := Listen(t, cert.ServerTLS(), func(c *Conn) {
		c.Proxy(echo.Addr(), Fault{After: "^cut", Do: func() { done.Store(true) }, CutAt: 6, Cut: true})
	})
	c, err := tls.Dial("tcp", p.Addr(), cert.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	io.WriteString(c, "hello\r\n")
	if line, _ := r.ReadString('\n'); line != "you said hello\r\n" {
		t.Fatalf("got %q", line)
	}
	io.WriteString(c, "cut here\r\n")
	// Without close_notify, crypto/tls reports a cut at a record boundary
	// as a clean end of file: only the count of bytes tells.
	rest, err := io.ReadAll(r)
	if string(rest) != "you sa" || err != nil || !done.Load() {
		t.Fatalf("got %q, %v (fault ran: %v)", rest, err, done.Load())
	}
}
