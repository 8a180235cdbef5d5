// Package smtpd is the sandbox's SMTP submission server: it stands in for
// Exchange Online (smtp.office365.com:587) and Gmail (smtp.gmail.com:587 and
// :465) in tests and in `make demo`. It accepts the bearer tokens the
// sandbox identity provider issues, over XOAUTH2 and (Gmail only)
// OAUTHBEARER, and passwords over AUTH LOGIN (and PLAIN at Gmail);
// mailauth.Directory decides every login, this package only speaks the
// protocol. It records what it receives instead of relaying it, and can be
// scripted to fail the way real servers do, so that a sender's retry and
// "did it go out?" logic can be tested.
//
// How the two styles differ on the wire:
//
//	                       Microsoft (Exchange Online)        Google (Gmail)
//	AUTH offered           LOGIN XOAUTH2                      LOGIN PLAIN XOAUTH2 OAUTHBEARER
//	token refused          535 5.7.3 Authentication           334 <base64 JSON challenge>, then after
//	                       unsuccessful (no challenge)        the client's empty line:
//	                                                          535-5.7.8 Username and Password not accepted. ...
//	SMTP AUTH disabled     535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled ...
//	AUTH before STARTTLS   504 5.7.4 Unrecognized             530 5.7.0 Must issue a STARTTLS
//	                       authentication type                command first.
//	MAIL before AUTH       530 5.7.57 Client not              530-5.7.0 Authentication Required. ...
//	                       authenticated to send mail.
//	too many per minute    421 4.4.2 Message submission rate for this client has exceeded the configured limit
//	                       (Gmail: 421 4.7.0 Try again later, closing connection.) — the connection is closed
//	MAIL FROM another      554 5.2.252 SendAsDenied; ...      accepted (Gmail rewrites From instead;
//	address                after DATA, unless GrantSendAs      the sandbox does not)
//
// The JSON challenges are Gmail's: for XOAUTH2
// {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"},
// for OAUTHBEARER {"status":"invalid_request","scope":"https://mail.google.com/"}.
// An answer of "=" to a 334 is not the empty line: the Google style
// refuses it as "501 5.5.2 Cannot Decode response - gsmtp"; on the AUTH
// line "=" still means empty.
//
// What go-smtp fixes and the sandbox cannot change: the greeting ("220
// <domain> ESMTP Service Ready"), the EHLO keyword list (PIPELINING,
// 8BITMIME, ENHANCEDSTATUSCODES, CHUNKING, SIZE), and the success replies
// ("235 2.0.0 Authentication succeeded", "250 2.0.0 OK: queued").
package smtpd
