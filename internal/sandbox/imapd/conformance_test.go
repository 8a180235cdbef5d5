package imapd

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"

	"github.com/emersion/go-imap/v2"
)

// What independent IMAP clients found in the sandbox, checked on the wire.

// wireLogin logs w in to the world's user of style with a token.
func (f *fixture) wireLogin(t *testing.T, w *wire, style provider.Type) string {
	t.Helper()
	user := f.World.MSUser
	if style == provider.Google {
		user = f.World.GoogleUser
	}
	ir := base64.StdEncoding.EncodeToString(oauthsasl.XOAUTH2Response(user, f.Token(t, style, user)))
	w.send("L AUTHENTICATE XOAUTH2 " + ir)
	if l := w.line(); !strings.HasPrefix(l, "L OK ") {
		t.Fatalf("AUTHENTICATE: %q", l)
	}
	return user
}

// until sends cmd tagged tag and returns the untagged lines before the
// tagged reply, and that reply.
func (w *wire) until(tag, cmd string) (untagged []string, done string) {
	w.t.Helper()
	w.send(tag + " " + cmd)
	for {
		l := w.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}

// expunges keeps the EXPUNGE lines of untagged.
func expunges(untagged []string) []string {
	var out []string
	for _, l := range untagged {
		if strings.HasSuffix(l, " EXPUNGE") {
			out = append(out, l)
		}
	}
	return out
}

// MOVE and UID MOVE of messages 2 and 4 of 5 tell the client, once each,
// which sequence numbers went (RFC 6851 §3.3: EXPUNGE responses as for
// EXPUNGE, after the COPYUID). Removing 4, then 2, leaves 1, 3 and 5; a
// second client with the folder selected hears the same at its next
// command. go-imap's imapmemserver wrote them itself with numbers already
// shifted ("* 0 EXPUNGE", "* 3 EXPUNGE") and then again from its queue.
func TestWireMoveExpunges(t *testing.T) {
	for _, cmd := range []string{"MOVE 2,4 Archive", "UID MOVE 2,4 Archive"} {
		t.Run(strings.Fields(cmd)[0], func(t *testing.T) {
			f := newFixture(t, provider.Microsoft, Options{})
			user := f.World.MSUser
			for i := 1; i <= 5; i++ {
				if _, err := f.srv.Append(user, "INBOX", testMessage(fmt.Sprintf("message %d", i))); err != nil {
					t.Fatal(err)
				}
			}
			addr := f.listen(t, mailauth.Plain)
			w, other := dialWire(t, addr), dialWire(t, addr)
			f.wireLogin(t, w, provider.Microsoft)
			f.wireLogin(t, other, provider.Microsoft)
			w.until("s", "SELECT INBOX")
			other.until("s", "SELECT INBOX")

			untagged, done := w.until("m", cmd)
			if !strings.HasPrefix(done, "m OK ") {
				t.Fatalf("%s: %q", cmd, done)
			}
			want := []string{"* 4 EXPUNGE", "* 2 EXPUNGE"}
			if got := expunges(untagged); !slices.Equal(got, want) {
				t.Errorf("%s sent %q, want %q", cmd, untagged, want)
			}
			if len(untagged) == 0 || !strings.HasPrefix(untagged[0], "* OK [COPYUID ") {
				t.Errorf("%s: the COPYUID does not come first: %q", cmd, untagged)
			}
			untagged, _ = w.until("n", "NOOP")
			if len(untagged) != 0 {
				t.Errorf("NOOP after %s sent %q, want nothing more", cmd, untagged)
			}
			untagged, _ = w.until("f", "FETCH 1:* (UID)")
			wantFetch := []string{"* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)", "* 3 FETCH (UID 5)"}
			if !slices.Equal(untagged, wantFetch) {
				t.Errorf("after %s: %q, want %q", cmd, untagged, wantFetch)
			}

			untagged, _ = other.until("n", "NOOP")
			if got := expunges(untagged); !slices.Equal(got, want) {
				t.Errorf("the other client heard %q, want %q", untagged, want)
			}
			wantMessages(t, f.srv, user, "INBOX",
				Message{UID: 1, Raw: testMessage("message 1"), Flags: []imap.Flag{}},
				Message{UID: 3, Raw: testMessage("message 3"), Flags: []imap.Flag{}},
				Message{UID: 5, Raw: testMessage("message 5"), Flags: []imap.Flag{}})
			wantMessages(t, f.srv, user, "Archive",
				Message{UID: 1, Raw: testMessage("message 2"), Flags: []imap.Flag{}},
				Message{UID: 2, Raw: testMessage("message 4"), Flags: []imap.Flag{}})
		})
	}
}

// SELECT lists the system flags in FLAGS and PERMANENTFLAGS, whether or not
// a message has them yet, and \* in PERMANENTFLAGS because the sandbox
// keeps keywords; keywords in use are listed too. imapmemserver listed only
// the flags some message had, so an empty folder said FLAGS ().
func TestWireSelectFlags(t *testing.T) {
	for _, style := range []provider.Type{provider.Microsoft, provider.Google} {
		t.Run(string(style), func(t *testing.T) {
			f := newFixture(t, style, Options{})
			w := dialWire(t, f.listen(t, mailauth.Plain))
			user := f.wireLogin(t, w, style)
			if _, err := f.srv.Append(user, "INBOX", testMessage("keyword"), imap.FlagSeen, "$Forwarded"); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				folder         string
				flags, permFls string
			}{
				{"INBOX", `\Answered \Flagged \Deleted \Seen \Draft $forwarded`, `\Answered \Flagged \Deleted \Seen \Draft $forwarded \*`},
				{standardFolders[style][1], `\Answered \Flagged \Deleted \Seen \Draft`, `\Answered \Flagged \Deleted \Seen \Draft \*`},
			} {
				untagged, done := w.until("s", `SELECT "`+tc.folder+`"`)
				if !strings.HasPrefix(done, "s OK ") {
					t.Fatalf("SELECT %s: %q", tc.folder, done)
				}
				wantFlags := "* FLAGS (" + tc.flags + ")"
				wantPerm := "* OK [PERMANENTFLAGS (" + tc.permFls + ")] Permanent flags"
				if !slices.Contains(untagged, wantFlags) || !slices.Contains(untagged, wantPerm) {
					t.Errorf("SELECT %s sent %q, want %q and %q", tc.folder, untagged, wantFlags, wantPerm)
				}
			}
		})
	}
}

// capabilities returns the atoms of the CAPABILITY response.
func (w *wire) capabilities(tag string) []string {
	w.t.Helper()
	untagged, done := w.until(tag, "CAPABILITY")
	if !strings.HasPrefix(done, tag+" OK") || len(untagged) != 1 || !strings.HasPrefix(untagged[0], "* CAPABILITY ") {
		w.t.Fatalf("CAPABILITY: %q, %q", untagged, done)
	}
	return strings.Fields(strings.TrimPrefix(untagged[0], "* CAPABILITY "))
}

// The server advertises LITERAL- (RFC 7888 §5) and never LITERAL+ with it,
// before or after login, and holds clients to it: a non-synchronizing
// literal of more than 4096 bytes is refused before its bytes are taken as
// a literal, one of up to 4096 is accepted, and a synchronizing literal of
// any size gets its continuation. It used to advertise both after login
// and accept {5000+} at any time.
func TestWireLiterals(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	const mailbox, password = "printer@contoso.example", "pw"
	f.Directory.SetPassword(mailbox, password)
	addr := f.listen(t, mailauth.Plain)
	big := strings.Repeat("x", 5000)
	const refused = "a BAD Non-synchronizing literals are limited to 4096 bytes"

	checkCaps := func(w *wire, when string) {
		t.Helper()
		caps := w.capabilities("c")
		if !slices.Contains(caps, "LITERAL-") || slices.Contains(caps, "LITERAL+") {
			t.Errorf("capabilities %s: %q, want LITERAL- without LITERAL+", when, caps)
		}
	}

	// Before login.
	w := dialWire(t, addr)
	checkCaps(w, "before login")
	w.send("a APPEND INBOX {5000+}")
	w.send(big)
	if l := w.line(); l != refused {
		t.Errorf("{5000+} before login: %q, want %q", l, refused)
	}

	// LITERAL- allows small non-synchronizing literals, before login too.
	w = dialWire(t, addr)
	w.send(fmt.Sprintf("l LOGIN {%d+}", len(mailbox)))
	w.send(fmt.Sprintf("%s {%d+}", mailbox, len(password)))
	w.send(password)
	if l := w.line(); !strings.HasPrefix(l, "l OK ") {
		t.Fatalf("LOGIN with {n+} literals: %q", l)
	}
	checkCaps(w, "after login")

	msg := "Subject: big\r\n\r\n" + big + "\r\n"
	w.send(fmt.Sprintf("b APPEND INBOX {%d}", len(msg)))
	w.expect("+ Ready for literal data")
	w.send(msg)
	if l := w.line(); !strings.HasPrefix(l, "b OK [APPENDUID ") {
		t.Fatalf("synchronizing APPEND of %d bytes: %q", len(msg), l)
	}

	w.send(fmt.Sprintf("a APPEND INBOX {%d+}", len(msg)))
	w.send(msg)
	if l := w.line(); l != refused {
		t.Errorf("{%d+} after login: %q, want %q", len(msg), l, refused)
	}
}

// At the Google-like server, "=" answers a challenge only as malformed,
// with Gmail's words for a SASL message it cannot read; it is not taken
// for the empty line the client owed (RFC 4959 gives "=" a meaning only as
// the initial response on the AUTHENTICATE line, where it still means
// empty). go-imap's server decodes "=" as empty before the mechanism sees
// it; go-imap's client sends it after a failure challenge, and a sandbox
// that accepted it would hide that from tests. The same inside STARTTLS.
func TestWireEqualsAnswer(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, mode := range []mailauth.Mode{mailauth.Plain, mailauth.RequireStartTLS} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newFixture(t, provider.Google, Options{})
			user := f.World.GoogleUser
			w := dialWire(t, f.listen(t, mode))
			if mode == mailauth.RequireStartTLS {
				w.startTLS(f.Cert.ClientTLS())
			}
			w.send("a1 AUTHENTICATE XOAUTH2 " + b64(oauthsasl.XOAUTH2Response(user, "ya29.not-a-token")))
			if l := w.line(); !strings.HasPrefix(l, "+ ey") {
				t.Fatalf("no failure challenge: %q", l)
			}
			w.send("=")
			w.expect("a1 BAD Invalid SASL argument.")
			// Answering the request for the initial response with "=" is
			// no better.
			w.send("a2 AUTHENTICATE XOAUTH2")
			w.expect("+ ")
			w.send("=")
			w.expect("a2 BAD Invalid SASL argument.")
			// "=" on the command line is the empty initial response: the
			// server asks for it.
			w.send("a3 AUTHENTICATE XOAUTH2 =")
			w.expect("+ ")
			w.send(b64(oauthsasl.XOAUTH2Response(user, f.Token(t, provider.Google, user))))
			if l := w.line(); !strings.HasPrefix(l, "a3 OK ") {
				t.Fatalf("login after the refusals: %q", l)
			}
		})
	}
}
