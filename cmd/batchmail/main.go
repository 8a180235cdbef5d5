// Command batchmail is the outbound worker: it sends the messages queued in
// MAIL_SPOOL_DIR over SMTP, logging in with a password or with an OAuth2
// token from the shared token store, and keeps every message until the
// server has accepted it.
//
//	batchmail [-conf conf/batchmail.properties] [-once]
//	batchmail enqueue [-conf conf/batchmail.properties] FILE|-
//
// See internal/mailout for the spool and how messages are sent.
package main

import (
	"mailtokens/internal/cmdline"
	"mailtokens/internal/mailout"
)

func main() { cmdline.Main(mailout.Program) }
