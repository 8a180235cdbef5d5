// Package dovecot runs a private Dovecot 2.3 (IMAP, POP3, submission) that
// checks XOAUTH2 and OAUTHBEARER tokens with an RFC 7662 introspection
// endpoint, usually the sandbox identity provider's, and a private Postfix
// smtp-sink that submission relays to. Tests use it to try the workers
// against a real server; `make demo DEMO_FLAGS=--dovecot` uses it instead of the
// sandbox's own mail servers.
//
// Each instance runs `dovecot -F -c <conf>` as its own process with its own
// directory, base_dir, state_dir, logs and free loopback ports, so any number
// of instances — in one test binary or in the parallel test binaries of
// several packages — run side by side, and none touches /etc/dovecot or the
// system's ports. It must run as root (Dovecot drops privileges itself).
// See config.go for the settings and why each is there.
//
// Launch, Save and the other functions that do the work return
// errors; Missing says beforehand whether Dovecot can run here, in words a
// newcomer can act on. Start, StartSink, Deliver and the other helpers in
// testing.go wrap them for tests: they skip the test where Dovecot is
// missing or the test is not root, fail it under MAILTOKENS_REQUIRE_ALL=1,
// and stop what they started when the test ends.
//
// # What Dovecot 2.3.19 sends on the wire
//
// Other packages' tests rely on these; this package's tests pin them.
//
// A refused token (unknown, expired, revoked, or user= / a= not the token's
// user) gets a base64 JSON failure challenge first; the client must answer
// it (XOAUTH2: an empty line; OAUTHBEARER: base64 of 0x01, "AQ==") and only
// then gets the final error, about 0.5 s after the answer (Dovecot's auth
// process flushes failures on a 0.5 s timer; the 2 s auth_failure_delay and
// the growing per-IP penalty are switched off here):
//
//	IMAP  C: a AUTHENTICATE XOAUTH2 <base64 IR>
//	      S: + eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIn0=
//	      C: (empty line)
//	      S: a NO [AUTHENTICATIONFAILED] Authentication failed.
//	POP3  C: AUTH XOAUTH2
//	      S: + (a plus and a space: the request for the initial response)
//	      C: <base64 IR>
//	      S: + eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIn0=
//	      C: (empty line)
//	      S: -ERR [AUTH] Authentication failed.
//	SMTP  C: AUTH XOAUTH2 <base64 IR>
//	      S: 334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIn0=
//	      C: (empty line)
//	      S: 535 5.7.8 Authentication failed.
//
// The XOAUTH2 challenge decodes to XOAUTH2Challenge. OAUTHBEARER is the same
// exchange with the challenge eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=
// (OAUTHBEARERChallenge) answered by AQ==. A login with a password (IMAP
// LOGIN, POP3 USER/PASS, AUTH PLAIN) that is neither a password user's nor a
// live token fails with the same final lines and no challenge.
//
// When the introspection endpoint fails (connection refused, HTTP 500)
// there is no challenge: the exchange ends at once with a temporary
// failure, followed by " [<system hostname>:<YYYY-MM-DD hh:mm:ss>]":
//
//	IMAP  a NO [UNAVAILABLE] Temporary authentication failure. [vm:2026-01-02 03:04:05]
//	POP3  -ERR [SYS/TEMP] Temporary authentication failure. [vm:2026-01-02 03:04:05]
//	SMTP  454 4.7.0 Temporary authentication failure. [vm:2026-01-02 03:04:05]
//
// Successful logins end with "a OK [CAPABILITY ...] Logged in",
// "+OK Logged in." and "235 2.7.0 Logged in.".
//
// Answers other than the expected ones: "=" (what go-imap/v2's imapclient
// sends for XOAUTH2's empty answer — RFC 4959 allows "=" only for an initial
// response) is bad base64 to Dovecot and ends the exchange with
// "a BAD Invalid base64 data in continued response" (POP3 "-ERR [AUTH] ...",
// SMTP "501 5.5.2 ..." with the same text) instead of the NO; any non-empty
// base64 answer, such as AQ==, gets the NO; "*" gets "a BAD Authentication
// aborted by client.". The IMAP connection stays usable after either.
//
// Line limits of the pre-login processes, which a JWT access token (the
// sandbox's Microsoft tokens are about 2.9 KB) runs into:
//
//   - submission: an AUTH command line over about 1 KiB gets
//     "500 5.5.2 Line too long"; a response after "334 " may be 8 KiB. So a
//     client must send "AUTH XOAUTH2" alone and the initial response after
//     the empty "334 " challenge — go-smtp's Client.Auth does that when the
//     mechanism's Start returns no initial response. oauthsasl's clients
//     answer an empty first challenge with the initial response.
//   - IMAP: AUTHENTICATE takes a long initial response in the command
//     (SASL-IR), but LOGIN with a token as password over about 1 KiB,
//     quoted or as a literal, gets "* BYE Input buffer full, aborting" and
//     the connection is closed. AUTHENTICATE PLAIN works.
//   - POP3 clients send the initial response after "+ " anyway.
//
// # What submission adds to relayed mail
//
// Dovecot relays the message byte for byte (dot-unstuffed and stuffed again)
// with one header prepended, the MAIL FROM and RCPT TO addresses as the
// client sent them, and EHLO Hostname. With one recipient:
//
//	Received: from <client's EHLO name> ([127.0.0.1])
//		by dovecot.test with ESMTPA
//		id <22 characters>
//		(envelope-from <MAIL FROM address>)
//		for <RCPT TO address>; Sun, 22 Nov 2026 11:42:55 +0000
//
// With several recipients the "for" line is left out and the date follows
// the envelope-from: "\t(envelope-from <a@b>); Sun, 22 Nov 2026 ...".
// ESMTPA becomes ESMTPSA over TLS. Nothing else is added: no Message-ID,
// Date or Return-Path.
package dovecot

// The failure challenges Dovecot 2.3 sends, decoded.
const (
	XOAUTH2Challenge     = `{"status":"401","schemes":"bearer","scope":"mail"}`
	OAUTHBEARERChallenge = `{"status":"invalid_token"}`
)

// The final replies to a refused login.
const (
	IMAPAuthFailed = "NO [AUTHENTICATIONFAILED] Authentication failed."
	POP3AuthFailed = "-ERR [AUTH] Authentication failed."
	SMTPAuthFailed = "535 5.7.8 Authentication failed."
)

// The replies when the introspection endpoint fails; Dovecot appends
// " [<hostname>:<time>]".
const (
	IMAPTempFailed = "NO [UNAVAILABLE] Temporary authentication failure."
	POP3TempFailed = "-ERR [SYS/TEMP] Temporary authentication failure."
	SMTPTempFailed = "454 4.7.0 Temporary authentication failure."
)
