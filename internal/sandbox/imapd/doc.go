// Package imapd is the sandbox's IMAP server: it stands in for Exchange
// Online (outlook.office365.com:993) and Gmail (imap.gmail.com:993) in tests
// and in `make demo`. It accepts the bearer tokens the sandbox identity
// provider issues, over XOAUTH2 and (Gmail only) OAUTHBEARER, and passwords
// over LOGIN and AUTHENTICATE PLAIN; mailauth.Directory decides every login,
// this package only speaks the protocol.
//
// Messages live in go-imap/v2's imapmemserver, one imapmemserver.User per
// mailbox address. A login opens the mailbox named in the login (user= for
// XOAUTH2, a= for OAUTHBEARER), which for a shared mailbox is not the token
// owner's; a mailbox is created with its provider's standard folders the
// first time anyone logs in to it or a test adds it.
//
// How the two styles differ on the wire, as the real services do it:
//
//	                        Microsoft (Exchange Online)    Google (Gmail)
//	AUTH= offered           PLAIN XOAUTH2                  XOAUTH2 PLAIN OAUTHBEARER
//	token refused           NO AUTHENTICATE failed.        + <base64 JSON challenge>, then after
//	                        (no challenge)                 the client's answer:
//	                                                       NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)
//	LOGIN refused           NO LOGIN failed.               NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)
//	standard folders        Archive, Deleted Items, ...    [Gmail]/All Mail, [Gmail]/Trash, ...
//
// Gmail's XOAUTH2 challenge is
// {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}, its
// OAUTHBEARER one {"status":"invalid_request","scope":"https://mail.google.com/"};
// the client answers with an empty line or a single 0x01 respectively. An
// answer of "=" (go-imap/v2's client sends it) is not the empty line: the
// Google style refuses it as "BAD Invalid SASL argument.", after any
// challenge; on the AUTHENTICATE line "=" still means empty.
//
// What go-imap/v2's server fixes and the sandbox cannot change: the greeting
// text ("IMAP server ready"), the capability list's shape (IMAP4rev1,
// SASL-IR, LITERAL-, IDLE, UNSELECT, ENABLE, UTF8=ACCEPT are always there),
// the refusal of a login before STARTTLS ("NO [PRIVACYREQUIRED] TLS is
// required to authenticate", with LOGINDISABLED advertised), and flags sent
// in lower case ("\seen") in FETCH because imapmemserver stores them so;
// IMAP flags are case-insensitive and go-imap/v2's client restores the
// usual spelling. SELECT's FLAGS and PERMANENTFLAGS are the sandbox's own:
// the five system flags in their usual spelling, the keywords in use, and
// \* (keywords are kept).
package imapd
