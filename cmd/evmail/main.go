// Command evmail is the inbound worker: it receives one mailbox over IMAP
// or POP3 (PASSWORD or OAUTH2 login) and delivers the mail to a Maildir or
// a program. evmail -conf conf/evmail.properties [-once]
package main

import (
	"mailtokens/internal/cmdline"
	"mailtokens/internal/mailin"
)

func main() { cmdline.Main(mailin.Program) }
