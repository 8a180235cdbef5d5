package pop3

import (
	"context"
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
