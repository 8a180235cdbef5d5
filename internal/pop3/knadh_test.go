package pop3_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"mailtokens/internal/provider"

	knadh "github.com/knadh/go-pop3"
)

// TestWhyNotKnadhGoPOP3 is why this package exists. The obvious choice was
// github.com/knadh/go-pop3, but v1.0.0 (the only version the module proxy
// serves) corrupts this message in two ways, against the same server that
// our client reads it from byte for byte:
//
//   - it does not undo dot-stuffing: ".hidden" arrives as "..hidden" and a
//     line that is ".." as "...";
//   - it reads lines with bufio.Reader.ReadLine and ignores isPrefix, so a
//     line longer than its 4096-byte buffer is cut in two with a CRLF in
//     between.
//
// (It also returns each message as one bytes.Buffer, so a large message is
// held in memory whole; TestRetrStreamsLargeMessage shows ours does not.)
func TestWhyNotKnadhGoPOP3(t *testing.T) {
	long := strings.Repeat("0123456789", 500) // 5000 bytes, one line
	msg := "From: a@example.test\r\nSubject: dots\r\n\r\n" +
		".hidden\r\n" +
		"..\r\n" +
		long + "\r\n" +
		"end\r\n"
	f, addr := plainServer(t, provider.Google)
	f.srv.Add(pwUser, []byte(msg))

	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	portNum, _ := strconv.Atoi(port)
	kconn, err := knadh.New(knadh.Opt{Host: host, Port: portNum}).NewConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := kconn.Auth(pwUser, pwPassword); err != nil {
		t.Fatal(err)
	}
	buf, err := kconn.RetrRaw(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := kconn.Quit(); err != nil {
		t.Fatal(err)
	}
	theirs := buf.String()
	corrupted := "From: a@example.test\r\nSubject: dots\r\n\r\n" +
		"..hidden\r\n" + // the stuffing dot kept
		"...\r\n" + // likewise
		long[:4096] + "\r\n" + long[4096:] + "\r\n" + // split at 4096 bytes
		"end\r\n"
	if theirs != corrupted {
		t.Errorf("knadh/go-pop3 no longer corrupts the message the way this test knows; "+
			"if it is fixed, reconsider it.\ngot  %q\nwant %q", abbreviate(theirs), abbreviate(corrupted))
	}

	c := loggedIn(t, addr)
	rc, err := c.Retr(1)
	if ours := readAll(t, rc, err); ours != local(msg) {
		t.Errorf("our client: got %q, want %q", abbreviate(ours), abbreviate(local(msg)))
	}
}

// abbreviate shortens runs of digits so that a failure message stays
// readable.
func abbreviate(s string) string {
	return strings.ReplaceAll(s, strings.Repeat("0123456789", 10), "<100 digits>")
}
