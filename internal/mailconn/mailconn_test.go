package mailconn

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/pop3d"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// rig is the sandbox provider, Exchange-like and Gmail-like servers, and a
// token store holding an authorized token for each provider.
type rig struct {
	*sandboxtest.Env
	imap       map[provider.Type]map[mailauth.Mode]string // addresses
	smtp       map[provider.Type]map[mailauth.Mode]string
	imapServer map[provider.Type]*imapd.Server
}

func newRig(t *testing.T) *rig {
	t.Helper()
	e := sandboxtest.New(t, sandboxtest.SharedMailbox(), sandboxtest.Passwords(),
		sandboxtest.IMAP(provider.Microsoft), sandboxtest.IMAP(provider.Google), sandboxtest.SMTP(provider.Microsoft), sandboxtest.SMTP(provider.Google),
		sandboxtest.Authorized("ms", provider.Microsoft), sandboxtest.Authorized("gmail", provider.Google))
	r := &rig{Env: e, imap: map[provider.Type]map[mailauth.Mode]string{}, smtp: map[provider.Type]map[mailauth.Mode]string{},
		imapServer: map[provider.Type]*imapd.Server{}}
	for _, style := range []provider.Type{provider.Microsoft, provider.Google} {
		r.imap[style], r.smtp[style], r.imapServer[style] = e.IMAP[style].Addr, e.SMTP[style].Addr, e.IMAP[style].Server
	}
	return r
}

func server(proto mailserver.Protocol, addr string, sec mailserver.Security, roots *testcert.Cert) mailserver.Server {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	s := mailserver.Server{Protocol: proto, Host: host, Port: n, Security: sec, Timeout: 10 * time.Second}
	if roots != nil {
		s.RootCAs = roots.Pool()
	}
	return s
}

func (r *rig) src(name string) *tokenstore.Source {
	return r.Store.Source(name, tokenstore.ActorEvmail)
}

func TestIMAPLogins(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	ms := r.imap[provider.Microsoft]
	for _, c := range []struct {
		name string
		s    mailserver.Server
		a    Auth
	}{
		{"XOAUTH2 over SSL", server(mailserver.IMAP, ms[mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: r.World.MSUser, Tokens: r.src("ms")}},
		{"XOAUTH2 after STARTTLS", server(mailserver.IMAP, ms[mailauth.RequireStartTLS], mailserver.STARTTLS, r.Cert), Auth{User: r.World.MSUser, Tokens: r.src("ms")}},
		{"shared mailbox", server(mailserver.IMAP, ms[mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: r.World.MSSharedMailbox, Tokens: r.src("ms")}},
		{"password", server(mailserver.IMAP, ms[mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: "clerk@contoso.example", Password: secret.New("clerk password")}},
		{"Gmail", server(mailserver.IMAP, r.imap[provider.Google][mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: r.World.GoogleUser, Tokens: r.src("gmail")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, err := DialIMAP(ctx, c.s, c.a, Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if _, err := cl.Select("INBOX", nil).Wait(); err != nil {
				t.Fatalf("select after login: %v", err)
			}
		})
	}
	tok, _ := r.Store.Get(ctx, "ms")
	if tok.LastUsedBy != tokenstore.ActorEvmail || tok.LastUsedAt.IsZero() {
		t.Fatalf("use not recorded: %q %v", tok.LastUsedBy, tok.LastUsedAt)
	}
	if n := len(r.IDP.Refreshes()); n != 0 {
		t.Fatalf("%d refreshes for logins with valid tokens", n)
	}
}

// TestRejectedTokenIsRefreshedOnce: the store thinks its access token is
// good, the server disagrees: one forced refresh, one retry, success.
func TestRejectedTokenIsRefreshedOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	_, rt, _ := r.IDP.MintToken(ctx, r.World, provider.Microsoft, r.World.MSUser)
	r.Store.SaveGrant(ctx, "ms", tokenstore.GrantPasted, &provider.Token{AccessToken: secret.New("not-a-token-the-server-knows"),
		RefreshToken: secret.New(rt), ExpiresIn: time.Hour}, tokenstore.ActorCLI)
	for _, c := range []struct {
		proto mailserver.Protocol
		dial  func() error
	}{
		{mailserver.IMAP, func() error {
			c, err := DialIMAP(ctx, server(mailserver.IMAP, r.imap[provider.Microsoft][mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: r.World.MSUser, Tokens: r.src("ms")}, Options{}, nil)
			if err == nil {
				c.Close()
			}
			return err
		}},
		{mailserver.SMTP, func() error {
			c, err := DialSMTP(ctx, server(mailserver.SMTP, r.smtp[provider.Microsoft][mailauth.RequireStartTLS], mailserver.STARTTLS, r.Cert), Auth{User: r.World.MSUser, Tokens: r.src("ms")}, Options{})
			if err == nil {
				c.Close()
			}
			return err
		}},
	} {
		before := len(r.IDP.Refreshes())
		if err := c.dial(); err != nil {
			t.Fatalf("%s: %v", c.proto, err)
		}
		if len(r.IDP.Refreshes()) != before+1 {
			t.Fatalf("%s: %d refreshes, want exactly one", c.proto, len(r.IDP.Refreshes())-before)
		}
		// The fresh token now in the store is used as is.
		r.Store.SaveGrant(ctx, "ms", tokenstore.GrantPasted, &provider.Token{AccessToken: secret.New("stale-again"),
			RefreshToken: secret.New(mustRT(t, r)), ExpiresIn: time.Hour}, tokenstore.ActorCLI)
	}
}

func mustRT(t *testing.T, r *rig) string {
	_, rt, err := r.IDP.MintToken(context.Background(), r.World, provider.Microsoft, r.World.MSUser)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestLoginFailuresSayWhatToDo(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.Directory.DisableSMTPAuth(r.World.MSUser)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	cases := []struct {
		name    string
		dial    func() error
		stage   Stage
		reply   string
		advice  string
		refresh int // forced refreshes expected
		temp    bool
	}{
		{"not a delegate of the mailbox", func() error {
			_, err := DialIMAP(ctx, server(mailserver.IMAP, r.imap[provider.Microsoft][mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: "ceo@contoso.example", Tokens: r.src("ms")}, Options{}, nil)
			return err
		}, StageLogin, "NO AUTHENTICATE failed.", "Full Access", 1, false},
		{"SMTP AUTH disabled", func() error {
			_, err := DialSMTP(ctx, server(mailserver.SMTP, r.smtp[provider.Microsoft][mailauth.RequireStartTLS], mailserver.STARTTLS, r.Cert), Auth{User: r.World.MSUser, Tokens: r.src("ms")}, Options{})
			return err
		}, StageLogin, "535 5.7.139", "Authenticated SMTP", 0, false},
		// go-imap answers the failure challenge with "=", which Gmail (and
		// the sandbox) refuses as malformed rather than with NO
		// [AUTHENTICATIONFAILED]: the challenge still makes it a refused
		// token, and its JSON the advice.
		{"Gmail failure challenge", func() error {
			_, err := DialIMAP(ctx, server(mailserver.IMAP, r.imap[provider.Google][mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: "someone.else@gmail.example", Tokens: r.src("gmail")}, Options{}, nil)
			return err
		}, StageLogin, "BAD Invalid SASL argument.", "status 401", 1, false},
		{"wrong password", func() error {
			_, err := DialIMAP(ctx, server(mailserver.IMAP, r.imap[provider.Microsoft][mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: "clerk@contoso.example", Password: secret.New("wrong")}, Options{}, nil)
			return err
		}, StageLogin, "NO", "user name and password", 0, false},
		{"nobody listening", func() error {
			_, err := DialIMAP(ctx, server(mailserver.IMAP, deadAddr, mailserver.SSL, r.Cert), Auth{User: r.World.MSUser, Tokens: r.src("ms")}, Options{}, nil)
			return err
		}, StageConnect, "", "firewall", 0, true},
		{"untrusted certificate", func() error {
			_, err := DialIMAP(ctx, server(mailserver.IMAP, r.imap[provider.Microsoft][mailauth.ImplicitTLS], mailserver.SSL, nil), Auth{User: r.World.MSUser, Tokens: r.src("ms")}, Options{}, nil)
			return err
		}, StageTLS, "", "certificate", 0, false},
		{"SSL against a plain port", func() error {
			_, err := DialIMAP(ctx, server(mailserver.IMAP, r.imap[provider.Microsoft][mailauth.RequireStartTLS], mailserver.SSL, r.Cert), Auth{User: r.World.MSUser, Tokens: r.src("ms")}, Options{}, nil)
			return err
		}, StageTLS, "", "STARTTLS for 143", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(r.IDP.Refreshes())
			err := c.dial()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *Error", err)
			}
			if e.Stage != c.stage || !strings.Contains(e.Reply, c.reply) || e.Temporary != c.temp {
				t.Fatalf("stage %s reply %q temporary %v; want %s %q %v (%v)", e.Stage, e.Reply, e.Temporary, c.stage, c.reply, c.temp, err)
			}
			if text, _ := advice.Of(err); !strings.Contains(text, c.advice) {
				t.Fatalf("advice %q lacks %q", text, c.advice)
			}
			if got := len(r.IDP.Refreshes()) - before; got != c.refresh {
				t.Fatalf("%d forced refreshes, want %d", got, c.refresh)
			}
		})
	}
}

func TestTokenNeedingAuthorizationStopsBeforeConnecting(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.Store.Create(ctx, tokenstore.Settings{Name: "fresh", Config: provider.Config{Type: provider.Google, ClientID: "x", ClientSecret: secret.New("y")}}, tokenstore.ActorCLI)
	_, err := DialIMAP(ctx, server(mailserver.IMAP, r.imap[provider.Google][mailauth.ImplicitTLS], mailserver.SSL, r.Cert), Auth{User: r.World.GoogleUser, Tokens: r.src("fresh")}, Options{}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageToken || !strings.Contains(advice.Explain(err), "Get Email Token") {
		t.Fatalf("got %v", err)
	}
	var na *tokenstore.NeedsAuthorizationError
	if !errors.As(err, &na) {
		t.Fatal("the store's error must stay reachable")
	}
	if st := r.imapServer[provider.Google].Stats(); len(st) != 0 {
		t.Fatalf("a connection was made: %v", st)
	}
}

func TestTestTranscriptHidesCredentials(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	tok, _ := r.Store.Get(ctx, "ms")
	for _, req := range []TestRequest{
		{Server: mailserver.Server{Protocol: mailserver.IMAP, Security: mailserver.STARTTLS}, User: r.World.MSUser},
		{Server: mailserver.Server{Protocol: mailserver.SMTP, Security: mailserver.STARTTLS}, User: r.World.MSUser},
	} {
		addr := r.imap[provider.Microsoft][mailauth.RequireStartTLS]
		if req.Protocol == mailserver.SMTP {
			addr = r.smtp[provider.Microsoft][mailauth.RequireStartTLS]
		}
		host, port, _ := net.SplitHostPort(addr)
		req.Host = host
		req.Port, _ = strconv.Atoi(port)
		res := Test(ctx, r.src("ms"), req, r.Cert.Pool())
		if !res.OK || !strings.Contains(res.Summary, "Logged in") {
			t.Fatalf("%s: %+v", req.Protocol, res)
		}
		all := strings.Join(res.Transcript, "\n")
		if strings.Contains(all, tok.AccessToken.Reveal()) || strings.Contains(all, strings.Split(tok.AccessToken.Reveal(), ".")[1]) {
			t.Fatalf("%s transcript shows the token", req.Protocol)
		}
		if len(res.Transcript) < 3 {
			t.Fatalf("%s transcript too short: %q", req.Protocol, all)
		}
	}
	// A failure keeps the server's words and the advice.
	res := Test(ctx, r.src("ms"), TestRequest{Server: mailserver.Server{Protocol: mailserver.IMAP, Host: "127.0.0.1", Port: mustPort(r.imap[provider.Microsoft][mailauth.ImplicitTLS]), Security: mailserver.SSL}, User: "nobody@contoso.example"}, r.Cert.Pool())
	if res.OK || !strings.Contains(res.Summary, "AUTHENTICATE failed") || res.Advice == "" {
		t.Fatalf("failed test: %+v", res)
	}
}

// A request's own roots (a task file's CA) win over the tester's: the
// tester trusting only the system's CAs still gets in with them, and fails
// without them.
func TestTestRequestRoots(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	req := TestRequest{Server: mailserver.Server{Protocol: mailserver.IMAP, Host: "127.0.0.1",
		Port: mustPort(r.imap[provider.Microsoft][mailauth.ImplicitTLS]), Security: mailserver.SSL}, User: r.World.MSUser}
	if res := (Tester{}).Test(ctx, r.src("ms"), req); res.OK {
		t.Fatalf("the sandbox's private CA was trusted without being named: %+v", res)
	}
	req.RootCAs = r.Cert.Pool()
	if res := (Tester{}).Test(ctx, r.src("ms"), req); !res.OK {
		t.Fatalf("with the request's roots: %+v", res)
	}
}

func mustPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

func TestMask(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"T1 AUTHENTICATE XOAUTH2 dXNlcj1hQGIuYwFhdXRoPUJlYXJlciB4eHh4eHh4eAEB", "T1 AUTHENTICATE XOAUTH2 " + hidden},
		{"AUTH XOAUTH2 dXNlcj1hQGIuYwFhdXRoPUJlYXJlciB4eHh4eHh4eAEB", "AUTH XOAUTH2 " + hidden},
		{"AUTH XOAUTH2", "AUTH XOAUTH2"},
		{"PASS hunter2", "PASS " + hidden},
		{"T2 LOGIN user secret", "T2 LOGIN " + hidden},
		{"dXNlcj1hQGIuYwFhdXRoPUJlYXJlciB4eHh4eHh4eAEB", hidden},
		{"+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=", `+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=   (decoded: {"status":"401","schemes":"bearer"})`},
		{"* OK IMAP4rev1 ready", "* OK IMAP4rev1 ready"},
	} {
		if got := mask(c.in); got != c.want {
			t.Errorf("mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A server sends no credentials: its capability lines stay readable in the
// SMTP transcript (go-mail hands a multi-line reply over without its
// codes, so "ENHANCEDSTATUSCODES" arrived bare and was hidden as base64,
// and "AUTH LOGIN XOAUTH2" lost its mechanisms).
func TestMaskServerLines(t *testing.T) {
	for _, line := range []string{"ENHANCEDSTATUSCODES", "AUTH LOGIN XOAUTH2", "250-AUTH LOGIN XOAUTH2", "SMTPUTF8", "PIPELINING", "VXNlcm5hbWU6"} {
		if got := maskServer(line); got != line {
			t.Errorf("maskServer(%q) = %q", line, got)
		}
	}
	challenge := "334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0="
	if got := maskServer(challenge); !strings.Contains(got, `(decoded: {"status":"401"`) {
		t.Errorf("maskServer(%q) = %q", challenge, got)
	}
}

// FuzzMask: any line the server or client sends is masked without panicking,
// and a credential-carrying command never keeps its argument.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"AUTH PLAIN AGFAYg==", "a1 AUTHENTICATE XOAUTH2 abc", "+ ", "334 ", "PASS x", "* OK", "+ e30="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		out := mask(line)
		if m := authCmdRE.FindStringSubmatch(line); m != nil && m[1] != line && !strings.HasSuffix(out, hidden) {
			t.Fatalf("mask(%q) = %q keeps the credentials", line, out)
		}
	})
}

func TestPOP3Logins(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, style := range []provider.Type{provider.Microsoft, provider.Google} {
		srv := pop3d.New(pop3d.Options{ServerOptions: mailauth.ServerOptions{Style: style, Directory: r.Directory, TLS: r.Cert.ServerTLS()}})
		t.Cleanup(func() { srv.Close() })
		tlsAddr, _ := srv.Listen(mailauth.ImplicitTLS)
		name, user := "ms", r.World.MSUser
		if style == provider.Google {
			name, user = "gmail", r.World.GoogleUser
		}
		srv.Add(user, []byte("Subject: hi\r\n\r\n.hidden line\r\n"))
		c, err := DialPOP3(ctx, server(mailserver.POP3, tlsAddr, mailserver.SSL, r.Cert), Auth{User: user, Tokens: r.src(name)}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", style, err)
		}
		if n, _, err := c.Stat(); err != nil || n != 1 {
			t.Fatalf("%s: STAT %d %v", style, n, err)
		}
		c.Quit()
		// Refused: the server's words come back.
		_, err = DialPOP3(ctx, server(mailserver.POP3, tlsAddr, mailserver.SSL, r.Cert), Auth{User: "nobody@example.com", Tokens: r.src(name)}, Options{})
		var e *Error
		if !errors.As(err, &e) || !e.Rejected || !strings.Contains(e.Reply, "-ERR") {
			t.Fatalf("%s refused: %v", style, err)
		}
	}
	// STARTTLS (STLS) at the Exchange-like server, shared mailbox.
	srv := pop3d.New(pop3d.Options{ServerOptions: mailauth.ServerOptions{Style: provider.Microsoft, Directory: r.Directory, TLS: r.Cert.ServerTLS()}})
	t.Cleanup(func() { srv.Close() })
	addr, _ := srv.Listen(mailauth.RequireStartTLS)
	c, err := DialPOP3(ctx, server(mailserver.POP3, addr, mailserver.STARTTLS, r.Cert), Auth{User: r.World.MSSharedMailbox, Tokens: r.src("ms")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

// The IMAP transcript says who spoke and puts each command before its
// reply (go-imap's debug stream mixed both directions, at times the reply
// first), with SSL and with STARTTLS, where it goes on inside TLS.
func TestIMAPTranscriptOrder(t *testing.T) {
	r := newRig(t)
	for _, c := range []struct {
		sec  mailserver.Security
		mode mailauth.Mode
	}{{mailserver.SSL, mailauth.ImplicitTLS}, {mailserver.STARTTLS, mailauth.RequireStartTLS}} {
		req := TestRequest{Server: mailserver.Server{Protocol: mailserver.IMAP, Host: "127.0.0.1",
			Port: mustPort(r.imap[provider.Microsoft][c.mode]), Security: c.sec}, User: r.World.MSUser}
		for range 10 {
			res := Test(context.Background(), r.src("ms"), req, r.Cert.Pool())
			if !res.OK {
				t.Fatalf("%s: %+v", c.sec, res)
			}
			all := strings.Join(res.Transcript, "\n")
			sent := map[string]int{}
			for i, l := range res.Transcript {
				if tag, ok := strings.CutPrefix(l, "C: "); ok {
					sent[strings.Fields(tag + " x")[0]] = i
				}
				if reply, ok := strings.CutPrefix(l, "S: "); ok {
					tag := strings.Fields(reply + " x")[0]
					if at, ok := sent[tag]; tag != "*" && tag != "+" && (!ok || at > i) {
						t.Fatalf("%s: reply %q before its command:\n%s", c.sec, l, all)
					}
				}
			}
			if len(sent) < 2 || !strings.Contains(all, "AUTHENTICATE XOAUTH2 "+hidden) {
				t.Fatalf("%s: no login in the transcript:\n%s", c.sec, all)
			}
			if c.sec == mailserver.STARTTLS && !regexp.MustCompile(`(?s)C: \S+ STARTTLS\n.*TLS established.*C: \S+ CAPABILITY.*AUTHENTICATE`).MatchString(all) {
				t.Fatalf("STARTTLS, then the capabilities and the login inside TLS, not in the transcript:\n%s", all)
			}
		}
	}
}

// An SMTP Auth without a user or tokens (evadmin's NOTIFY_SMTP_AUTH_TYPE =
// NONE, a relay) connects and says EHLO, STARTTLS included, but does not
// try AUTH with an empty name.
func TestSMTPWithoutLogin(t *testing.T) {
	e := sandboxtest.New(t, sandboxtest.SMTP(provider.Microsoft))
	var lines []string
	c, err := DialSMTP(context.Background(), server(mailserver.SMTP, e.SMTP[provider.Microsoft].Addr[mailauth.StartTLS], mailserver.STARTTLS, e.Cert),
		Auth{}, Options{Transcript: func(l string) { lines = append(lines, l) }})
	if err != nil {
		t.Fatalf("DialSMTP without a login: %v\n%s", err, strings.Join(lines, "\n"))
	}
	c.Close()
	for _, l := range lines {
		if strings.HasPrefix(l, "C: AUTH") {
			t.Fatalf("sent %q without a user\n%s", l, strings.Join(lines, "\n"))
		}
	}
}
