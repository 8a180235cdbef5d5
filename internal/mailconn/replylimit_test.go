package mailconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/secret"

	"mailtokens/internal/mailserver"
)

// TestSMTPReplyLimit: an SMTP server that answers with a line or a list
// without end fails the login with ErrReplyTooLong, in the clear and after
// STARTTLS (where the limit counts TLS records under go-mail's client);
// replies of a normal size pass.
func TestSMTPReplyLimit(t *testing.T) {
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	endless := func(w *bufio.Writer) {
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "250-X-EXTENSION-%d\r\n", i); err != nil {
				return
			}
		}
	}
	normal := func(w *bufio.Writer) {
		w.WriteString("250-smtp.example.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
	}
	for _, tc := range []struct {
		name       string
		sec        mailserver.Security
		ehlo       func(w *bufio.Writer) // after STARTTLS when sec is STARTTLS
		wantTooBig bool
	}{
		{"endless EHLO in the clear", mailserver.NONE, endless, true},
		{"endless EHLO after STARTTLS", mailserver.STARTTLS, endless, true},
		{"normal EHLO after STARTTLS", mailserver.STARTTLS, normal, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
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
				r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
				w.WriteString("220 ready\r\n")
				w.Flush()
				tlsDone := tc.sec != mailserver.STARTTLS
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch verb := strings.ToUpper(strings.Fields(line)[0]); {
					case verb == "EHLO" && tlsDone:
						tc.ehlo(w)
					case verb == "EHLO":
						normal(w)
					case verb == "STARTTLS":
						w.WriteString("220 go ahead\r\n")
						w.Flush()
						tc := tls.Server(conn, cert.ServerTLS())
						if tc.Handshake() != nil {
							return
						}
						r, w, tlsDone = bufio.NewReader(tc), bufio.NewWriter(tc), true
						continue
					case verb == "AUTH":
						w.WriteString("235 ok\r\n")
					default:
						w.WriteString("221 bye\r\n")
						w.Flush()
						return
					}
					if w.Flush() != nil {
						return
					}
				}
			}()
			s := server(mailserver.SMTP, ln.Addr().String(), tc.sec, cert)
			c, err := DialSMTP(context.Background(), s, Auth{User: "u@example.test", Password: secret.New("pw")}, Options{})
			if tc.wantTooBig {
				if !errors.Is(err, ErrReplyTooLong) {
					t.Fatalf("DialSMTP: %v, want ErrReplyTooLong", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DialSMTP: %v", err)
			}
			c.Close()
		})
	}
}
