package pop3d

import (
	"io"
	"net"
	"slices"
	"strings"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/mailauth"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want command
		bad  bool
	}{
		{line: "STAT", want: command{verb: "STAT", rest: ""}},
		{line: "retr 1", want: command{verb: "RETR", args: []string{"1"}, rest: "1"}},
		{line: "PASS a secret with  spaces", want: command{verb: "PASS", args: []string{"a", "secret", "with", "spaces"}, rest: "a secret with  spaces"}},
		{line: "AUTH XOAUTH2 dXNlcj0=", want: command{verb: "AUTH", args: []string{"XOAUTH2", "dXNlcj0="}, rest: "XOAUTH2 dXNlcj0="}},
		{line: "TOP 1\t0", want: command{verb: "TOP", args: []string{"1", "0"}, rest: "1\t0"}},
		{line: "", bad: true},
		{line: " STAT", bad: true},
		{line: "ST@T", bad: true},
		{line: "STAT\x00", bad: true},
		{line: "USER a\x1bb", bad: true},
		{line: strings.Repeat("A", 17), bad: true},
	} {
		got, err := parseCommand(tc.line)
		if tc.bad {
			if err == nil {
				t.Errorf("parseCommand(%q) = %+v, want an error", tc.line, got)
			}
			continue
		}
		if err != nil || got.verb != tc.want.verb || !slices.Equal(got.args, tc.want.args) || got.rest != tc.want.rest {
			t.Errorf("parseCommand(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestMsgNumber(t *testing.T) {
	for arg, want := range map[string]int{"1": 1, "42": 42, "007": 7, "0": 0, "-1": 0, "+1": 0, "1x": 0, "": 0, "9999999999": 0} {
		n, ok := msgNumber(arg)
		if ok != (want > 0) || n != want && ok {
			t.Errorf("msgNumber(%q) = %d, %v", arg, n, ok)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "retr 1", "PASS a b  c", "AUTH XOAUTH2 =", "", "X\x00", "TOP 1 2 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseCommand(line)
		if err != nil {
			return
		}
		if c.verb == "" || c.verb != strings.ToUpper(c.verb) || !strings.EqualFold(line[:len(c.verb)], c.verb) {
			t.Fatalf("parseCommand(%q) verb %q", line, c.verb)
		}
		if !strings.HasSuffix(line, c.rest) {
			t.Fatalf("parseCommand(%q) rest %q", line, c.rest)
		}
		for _, a := range c.args {
			if a == "" || strings.ContainsAny(a, " \t") || !strings.Contains(c.rest, a) {
				t.Fatalf("parseCommand(%q) arg %q", line, a)
			}
		}
	})
}

// FuzzSession plays arbitrary bytes as a client against a session and
// checks the durability rule: whatever the client sends, a message leaves
// the maildrop only if the client said QUIT, and the maildrop is unlocked
// when the session ends.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"USER u\r\nPASS p\r\nDELE 1\r\nQUIT\r\n",
		"USER u\r\nPASS p\r\nDELE 1\r\nDELE 2\r\n",
		"USER u\r\nPASS p\r\nRETR 1\r\nTOP 2 0\r\nLIST\r\nUIDL 1\r\nSTAT\r\nRSET\r\nNOOP\r\nquit\r\n",
		"AUTH XOAUTH2\r\ndXNlcj11AWF1dGg9QmVhcmVyIHQBAQ==\r\n\r\n",
		"AUTH PLAIN AHUAcA==\r\nDELE 1\r\n",
		"AUTH\r\nCAPA\r\nSTLS\r\nUSER\r\nPASS\r\n",
		"USER u\nPASS p\nDELE 1\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	dir := mailauth.New(func(string) idp.Introspection { return idp.Introspection{} })
	dir.SetPassword("u", "p")
	f.Fuzz(func(t *testing.T, input []byte, google bool) {
		style := provider.Microsoft
		if google {
			style = provider.Google
		}
		s := New(Options{ServerOptions: mailauth.ServerOptions{Style: style, Directory: dir}})
		s.Add("u", []byte("Subject: 1\r\n\r\none\r\n"))
		s.Add("u", []byte("Subject: 2\n\n.two\n"))
		srvSide, cliSide := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, cliSide) }()
		go func() {
			_, _ = cliSide.Write(input)
			_ = cliSide.Close()
		}()
		newSession(s, srvSide, mailauth.Plain).run()
		_ = srvSide.Close()

		if !strings.Contains(strings.ToUpper(string(input)), "QUIT") {
			if got := len(s.Messages("u")); got != 2 {
				t.Fatalf("%d messages left without QUIT", got)
			}
		}
		if _, ok := s.lock("u"); !ok {
			t.Fatal("the maildrop is still locked after the session")
		}
	})
}
