package pop3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/oauthsasl"
)

// Fuzz tests for everything the client reads from a server. Run one with
// go test -fuzz=FuzzClient ./internal/pop3/ ; the seeds run as ordinary
// tests.

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"+OK", "+OK 2 320", "-ERR", "-ERR [IN-USE] x", "+", "+ eyJ9", "+ok", "-err x", "*", ""} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, line string, cont bool) {
		ind, text, err := parseStatus(line, cont)
		if err != nil {
			return
		}
		if !strings.Contains(line, text) {
			t.Fatalf("text %q is not part of %q", text, line)
		}
		switch ind {
		case replyOK:
			if !strings.HasPrefix(strings.ToUpper(line), "+OK") {
				t.Fatalf("%q taken as +OK", line)
			}
		case replyErr:
			if !strings.HasPrefix(strings.ToUpper(line), "-ERR") {
				t.Fatalf("%q taken as -ERR", line)
			}
		case replyContinue:
			if !cont || line[0] != '+' {
				t.Fatalf("%q taken as a continuation (cont=%v)", line, cont)
			}
		}
	})
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"[IN-USE] x", "[SYS/TEMP]", "[a/b/c] d", "[]", "[x", "plain text", "[A B]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		code := parseCode(text)
		if code == "" {
			return
		}
		if !strings.HasPrefix(text, "[") || strings.ContainsAny(code, " []\r\n") || strings.ToUpper(code) != code {
			t.Fatalf("parseCode(%q) = %q", text, code)
		}
		e := newError("X", text)
		_ = e.Temporary()
		if strings.ContainsAny(e.Error(), "\r\n\x00\x1b") {
			t.Fatalf("Error() passes control characters: %q", e.Error())
		}
	})
}

func FuzzParseStat(f *testing.F) {
	for _, s := range []string{"2 320", "0 0", "1", "a b", "1 2 3", "-1 2", "99999999999999999999 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		n, size, err := parseStat(text)
		if err == nil && (n < 0 || size < 0) {
			t.Fatalf("parseStat(%q) = %d, %d", text, n, size)
		}
	})
}

func FuzzParseListings(f *testing.F) {
	for _, s := range []string{"1 320", "2 GmailId18c9a2b3c4d5e6f7", "0 1", "1", "1 a b", "1 \x80", "x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if s, err := parseListLine(line); err == nil && (s.Num < 1 || s.Size < 0) {
			t.Fatalf("parseListLine(%q) = %+v", line, s)
		}
		if id, err := parseUIDLine(line); err == nil && (id.Num < 1 || !validUID(id.UID) || !strings.Contains(line, id.UID)) {
			t.Fatalf("parseUIDLine(%q) = %+v", line, id)
		}
	})
}

func FuzzCapabilities(f *testing.F) {
	f.Add("USER\nRESP-CODES\nSASL PLAIN XOAUTH2 OAUTHBEARER\nSTLS", "STLS")
	f.Add("TOP\nUIDL\nSASL\n", "sasl")
	f.Fuzz(func(t *testing.T, lines, name string) {
		caps := strings.Split(lines, "\n")
		_ = HasCapability(caps, name)
		for _, m := range SASLMechanisms(caps) {
			if m == "" || strings.ContainsAny(m, " \t") || strings.ToUpper(m) != m {
				t.Fatalf("mechanism %q from %q", m, lines)
			}
		}
	})
}

// FuzzClient plays arbitrary bytes as the server's side of a whole session
// and checks that the client neither panics nor hangs, and that once it has
// failed it stays failed.
func FuzzClient(f *testing.F) {
	for _, s := range []string{
		"+OK hi\r\n+OK\r\nUSER\r\nSASL XOAUTH2\r\n.\r\n+OK\r\n+OK\r\n+ \r\n+OK\r\n+OK 1 5\r\n+OK\r\n1 5\r\n.\r\n+OK\r\n1 u1\r\n.\r\n+OK\r\nab\r\n..c\r\n.\r\n+OK bye\r\n",
		"+OK\r\n-ERR\r\n-ERR [AUTH] no\r\n+ eyJzdGF0dXMiOiI0MDAifQ==\r\n-ERR [AUTH] no\r\n",
		"-ERR [SYS/TEMP] busy\r\n",
		"+OK\r\n+OK\r\n" + strings.Repeat("x", 10000) + "\r\n",
		"+OK\n+OK\n.\n",
		"garbage",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, serverBytes []byte) {
		cli, srv := net.Pipe()
		defer cli.Close()
		go func() { _, _ = io.Copy(io.Discard, srv) }()
		go func() {
			_, _ = srv.Write(serverBytes)
			_ = srv.Close()
		}()
		c, err := NewClient(cli, time.Second)
		if err != nil {
			return
		}
		var failed bool
		step := func(err error) {
			if failed && err == nil {
				t.Fatal("a call succeeded after the connection failed")
			}
			failed = failed || c.err != nil
		}
		_, err = c.Capabilities(context.Background())
		step(err)
		step(c.User("u", "p"))
		step(c.Auth(oauthsasl.NewXOAUTH2Client("u@example.test", "tok")))
		_, _, err = c.Stat()
		step(err)
		_, err = c.List()
		step(err)
		_, err = c.UIDL()
		step(err)
		if rc, err := c.Retr(1); err == nil {
			_, _ = io.Copy(io.Discard, rc)
			step(rc.Close())
		} else {
			step(err)
		}
		step(c.Quit())
	})
}

// fuzzServer plays "+OK ready" and then, after the client's first command,
// its reply: serverBytes as given, then the end of the connection.
func fuzzServer(t *testing.T, serverBytes []byte) *Client {
	t.Helper()
	cli, srv := net.Pipe()
	t.Cleanup(func() { cli.Close() })
	go func() {
		defer srv.Close()
		if _, err := srv.Write([]byte("+OK ready\r\n")); err != nil {
			return
		}
		buf := make([]byte, 512)
		if _, err := srv.Read(buf); err != nil { // the command
			return
		}
		go func() { _, _ = io.Copy(io.Discard, srv) }()
		_, _ = srv.Write(serverBytes)
	}()
	c, err := NewClient(cli, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dotLines is the model of a multi-line reply body: the lines up to the
// terminating ".", dot-stuffing undone, each with its line end (CRLF or
// LF) turned into "\n"; terminated says whether the "." line came. A line
// without its LF is not a line.
func dotLines(b []byte) (lines []string, terminated bool) {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return lines, false
		}
		line := string(b[:i])
		b = b[i+1:]
		line = strings.TrimSuffix(line, "\r")
		if line == "." {
			return lines, true
		}
		lines = append(lines, strings.TrimPrefix(line, ".")+"\n")
	}
}

// FuzzRetr plays arbitrary bytes as the body of a RETR reply, then ends
// the connection. The message reads to a clean end exactly when a
// terminating line came (with CRLF or bare LF line ends), and then holds
// exactly the lines before it: a message cut anywhere never passes for a
// whole one.
func FuzzRetr(f *testing.F) {
	for _, s := range []string{
		"+OK\r\nSubject: x\r\n\r\nbody\r\n.\r\n",
		"+OK 12 octets\r\n..dot\r\n.\r\n",
		"+OK\r\nline\r\n.",
		"+OK\r\nline\r\n.\r",
		"+OK\r\nno end",
		"+OK",
		"+OK\r\n.\r\n",
		"-ERR no such message\r\n",
		"+OK\nbare\nlf\n.\n",
		"+OK\r\na\rb\r\r\n.x\r\n.\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, serverBytes []byte) {
		c := fuzzServer(t, serverBytes)
		rc, err := c.Retr(1)
		if err != nil {
			return
		}
		got, err := io.ReadAll(rc)
		status, body, _ := bytes.Cut(serverBytes, []byte("\n"))
		if !bytes.HasPrefix(bytes.ToUpper(status), []byte("+OK")) {
			t.Fatalf("RETR opened a body after %q", status)
		}
		lines, terminated := dotLines(body)
		if (err == nil && !terminated) || (err != nil && terminated) {
			t.Fatalf("read ended with %v, but a terminating line came: %v (server sent %q)", err, terminated, serverBytes)
		}
		if err == nil && string(got) != strings.Join(lines, "") {
			t.Fatalf("the message is %q, want %q", got, strings.Join(lines, ""))
		}
		if err == nil && rc.Close() != nil {
			t.Fatal("Close after a whole message failed")
		}
	})
}

// FuzzUIDL plays arbitrary bytes as a UIDL reply, then ends the
// connection. A listing is returned only when its terminating line came,
// and then holds exactly the lines before it.
func FuzzUIDL(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n1 a\r\n2 GmailId18c9a2b3c4d5e6f7\r\n.\r\n",
		"+OK\r\n1 a\r\n.",
		"+OK\r\n1 a\r\n2 b",
		"+OK\r\n.\r\n",
		"+OK\r\n1 a b\r\n.\r\n",
		"+OK\n1 x\n.\n",
		"-ERR\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, serverBytes []byte) {
		c := fuzzServer(t, serverBytes)
		ids, err := c.UIDL()
		if err != nil {
			return
		}
		_, body, _ := bytes.Cut(serverBytes, []byte("\n"))
		lines, terminated := dotLines(body)
		if !terminated || len(ids) != len(lines) {
			t.Fatalf("UIDL = %d ids from %q (terminated %v, %d lines)", len(ids), serverBytes, terminated, len(lines))
		}
		for i, id := range ids {
			if f := strings.Fields(lines[i]); len(f) != 2 || f[1] != id.UID || fmt.Sprint(id.Num) != strings.TrimLeft(f[0], "0") || !validUID(id.UID) {
				t.Fatalf("id %+v from line %q", id, lines[i])
			}
		}
	})
}
