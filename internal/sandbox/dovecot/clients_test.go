package dovecot

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TestClients: with Options.Clients an instance holds more sessions at once
// than the ordinary limits (200 processes per service) allow: 300 IMAPS
// sessions of 300 users, all logged in with INBOX selected at the same
// time, each still answering at the end.
func TestClients(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 300 sessions")
	}
	t.Parallel()
	const n = 300
	passwords := map[string]string{}
	user := func(i int) string { return fmt.Sprintf("many%03d@contoso.example", i) }
	for i := range n {
		passwords[user(i)] = "pw " + user(i)
	}
	f := newFixture(t, Options{TLS: true, Clients: n, IdleCheckInterval: time.Second, Passwords: passwords})
	data, err := os.ReadFile(f.srv.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(data)
	for _, want := range []string{"default_client_limit = 1000", "default_process_limit = 400", "service_count = 0",
		"mailbox_idle_check_interval = 1 secs"} {
		if !strings.Contains(conf, want) {
			t.Errorf("dovecot.conf lacks %q", want)
		}
	}
	clients := make([]*imapclient.Client, 0, n)
	t.Cleanup(func() {
		for _, c := range clients {
			c.Close()
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for i := range n {
		conn, err := net.DialTimeout("tcp", f.srv.IMAPSAddr, ioTimeout)
		if err != nil {
			t.Fatalf("session %d: %v\n%s", i, err, readTail(20, f.srv.logFiles...))
		}
		conn.SetDeadline(deadline)
		c := imapclient.New(tls.Client(conn, f.srv.TLSConfig()), nil)
		clients = append(clients, c)
		if err := c.Login(user(i), passwords[user(i)]).Wait(); err != nil {
			t.Fatalf("session %d: LOGIN: %v\n%s", i, err, readTail(20, f.srv.logFiles...))
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("session %d: SELECT: %v\n%s", i, err, readTail(20, f.srv.logFiles...))
		}
	}
	for i, c := range clients {
		if err := c.Noop().Wait(); err != nil {
			t.Fatalf("session %d of %d open at once: NOOP: %v\n%s", i, n, err, readTail(20, f.srv.logFiles...))
		}
	}
	if log := f.srv.Log(); strings.Contains(log, "process_limit") || strings.Contains(log, "client_limit") {
		t.Errorf("Dovecot hit a limit:\n%s", readTail(20, f.srv.logFiles...))
	}
}
