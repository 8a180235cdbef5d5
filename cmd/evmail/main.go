// Command evmail is the inbound worker: it receives one mailbox over IMAP
// or POP3 (PASSWORD or OAUTH2 login) and delivers the mail to a Maildir or
// a program. evmail -conf conf/evmail.properties [-once]
package main

import (
	"os"

	"mailtokens/internal/mailin"
	"mailtokens/internal/worker"
)

func main() {
	ctx, stop := worker.SignalContext()
	code := mailin.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
