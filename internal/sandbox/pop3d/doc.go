// Package pop3d is a POP3 server on loopback that stands in for Exchange
// Online's and Gmail's POP3 in tests and in `make demo`.
//
// It keeps mailboxes in memory and follows RFC 1939 where clients depend on
// it: the AUTHORIZATION and TRANSACTION states, one session per maildrop at
// a time (-ERR [IN-USE]), deletions carried out only when the session ends
// with QUIT (a dropped connection deletes nothing), message numbers fixed
// for a session, UIDs fixed for good, sizes counted in octets with CRLF line
// endings, messages sent with CRLF (bare LF is normalised) and dot-stuffed.
// It speaks CAPA (RFC 2449), STLS (RFC 2595) and AUTH (RFC 5034).
//
// Logins go through a mailauth.Directory with mailauth.POP3: USER/PASS and
// SASL PLAIN check passwords; XOAUTH2 (and OAUTHBEARER in the Google style)
// check bearer tokens minted by the sandbox identity provider. The user= of
// XOAUTH2 names the maildrop, which may be a shared mailbox the token's
// owner has full access to.
//
// The Style decides what the server says and the details of the AUTH
// exchange that real clients trip over:
//
//   - Microsoft: the initial response must come after "+" (two steps); one
//     on the AUTH line gets "-ERR Protocol error. Connection is closed. 10"
//     and the connection closes. A rejected token gets
//     "-ERR Authentication failure: unknown user name or bad password." at
//     once, with no failure challenge.
//   - Google: the initial response may come either way. A rejected token
//     gets the JSON failure challenge, which the client must answer (an
//     empty line for XOAUTH2) before "-ERR [AUTH] Username and password not
//     accepted." The answers are recorded in Stats.ChallengeAnswers. "=" is
//     the empty response only on the AUTH line; as an answer it is refused
//     as malformed ("-ERR [AUTH] Invalid SASL argument.").
//
// Faults for tests: DropAfter and DropAt cut a RETR short, HangOn makes the
// server go silent, Slow delays every reply.
package pop3d
