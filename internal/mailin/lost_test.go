package mailin

import (
	"bufio"
	"context"
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/pop3"
	"mailtokens/internal/secret"
)

// TestLostIMAP: whether a failed exchange ended the connection is asked of
// the connection, over real ones: a refusal leaves it usable; a Close (what
// SIGTERM does) or a server that goes away does not.
func TestLostIMAP(t *testing.T) {
	r := newRig(t)
	r.imap.AddMailbox("clerk@contoso.example")
	r.imap.Append("clerk@contoso.example", "INBOX", message(1, "held"))
	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	host, port := splitAddr(r.imapS)
	p, _ := strconv.Atoi(port)
	dial := func() *mailconn.IMAPClient {
		t.Helper()
		c, err := mailconn.DialIMAP(context.Background(),
			mailserver.Server{Protocol: mailserver.IMAP, Host: host, Port: p, Security: mailserver.SSL, RootCAs: roots},
			mailconn.Auth{User: "clerk@contoso.example", Password: secret.New("clerk password")}, mailconn.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Watchdog(10 * time.Second)
		t.Cleanup(func() { c.Close() })
		return c
	}

	c := dial()
	if _, err := c.Select("No Such Folder", nil).Wait(); err == nil || lost(c, err) {
		t.Fatalf("a NO reply (%v) must leave the connection usable", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("after a NO reply: %v", err)
	}
	c.Close()
	_, err = fetchBody(c, 1)
	if err == nil || !lost(c, err) || !c.Broken() {
		t.Fatalf("after Close: %v, want a lost connection", err)
	}

	c = dial()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	r.imap.Close() // ends every connection from the server's side
	_, err = fetchBody(c, 1)
	if err == nil || !lost(c, err) || !c.Broken() {
		t.Fatalf("after the server went away: %v, want a lost connection", err)
	}
}

// TestLostPOP3: the same for POP3, against a server that answers one
// command with -ERR and then hangs up.
func TestLostPOP3(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		in := bufio.NewReader(conn)
		conn.Write([]byte("+OK ready\r\n"))
		in.ReadString('\n')
		conn.Write([]byte("-ERR [IN-USE] the maildrop is busy\r\n"))
		in.ReadString('\n') // the next command gets no answer: the server hangs up
	}()
	c, err := pop3.Dial(context.Background(), ln.Addr().String(), nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.Stat(); err == nil || lost(c, err) {
		t.Fatalf("a -ERR reply (%v) must leave the connection usable", err)
	}
	_, err = c.Retr(1)
	if err == nil || !lost(c, err) || !c.Broken() {
		t.Fatalf("after the server hung up: %v, want a lost connection", err)
	}
	if _, _, err := c.Stat(); err == nil || !lost(c, err) {
		t.Fatalf("a command after the loss: %v, want a lost connection", err)
	}
}
