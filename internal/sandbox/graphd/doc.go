// Package graphd is the sandbox's Microsoft Graph mail API: it stands in
// for https://graph.microsoft.com/v1.0 in tests and (later) the demo, over
// the same mailboxes as the sandbox IMAP server (an imapd.Server in the
// Microsoft style), so that mail appended over IMAP is in the delta and
// what Graph moves, deletes or marks read is so over IMAP. Tokens are the
// sandbox identity provider's, checked through mailauth.Directory.
//
// Served, under /v1.0/users/{upn} and /v1.0/me (users are named by
// address only, not by object id):
//
//	POST   …/sendMail                                    202; base64 MIME (text/plain) or JSON
//	GET    …/mailFolders[?$filter=displayName eq 'X']    top-level folders
//	GET    …/mailFolders/{folder}[/childFolders]
//	GET    …/mailFolders/{folder}/messages/delta         $select, changeType, Prefer: odata.maxpagesize
//	GET    …/messages/{id}[/$value]                      $value: the MIME as stored
//	PATCH  …/messages/{id}                               {"isRead":…} → 200 with the message
//	POST   …/messages/{id}/move                          {"destinationId":…} → 201, a new id
//	DELETE …/messages/{id}                               204; to Deleted Items (from there: gone)
//	POST   …/messages/{id}/permanentDelete               204; gone
//
// {folder} is a well-known name (inbox, archive, deleteditems, drafts,
// junkemail, outbox, sentitems) or a folder id. Ids are opaque; a
// message's id changes when it moves (ids.go).
//
// Answers follow Microsoft's documentation and users' transcripts, with
// the JSON error shape {"error":{"code","message","innerError":{"date",
// "request-id","client-request-id"}}} and request-id / client-request-id
// headers on every answer:
//
//	no, malformed, expired token        401 InvalidAuthenticationToken (and WWW-Authenticate)
//	token for another resource          401 InvalidAuthenticationToken "Access token validation failure. Invalid audience."
//	scope or role missing               403 ErrorAccessDenied "Access is denied. Check credentials and try again."
//	unknown mailbox                     404 ErrorInvalidUser "The requested user 'x' is invalid."
//	mailbox off for REST                404 MailboxNotEnabledForRESTAPI
//	another's mailbox, no Full Access   403 ErrorAccessDenied (delegated: needs a .Shared scope and Full Access)
//	app-only outside its RBAC scope     403 ErrorAccessDenied
//	bad base64 in sendMail              400 ErrorMimeContentInvalidBase64String "Invalid base64 string for MIME content."
//	unknown message or folder           404 ErrorItemNotFound; malformed id 400 ErrorInvalidIdMalformed
//	expired delta or skip token         410 SyncStateNotFound
//	5th concurrent request, app+mailbox 429 ApplicationThrottled "Application is over its MailboxConcurrency limit." Retry-After
//	request budget spent                429 ApplicationThrottled, Retry-After until the window frees
//
// Permissions: reading needs Mail.Read or Mail.ReadWrite, changing
// Mail.ReadWrite, sending Mail.Send (delegated scopes, or application
// roles for app-only tokens); a delegated token reaches another mailbox
// only with the .Shared variant and Full Access (mailauth's
// GrantFullAccess). App-only tokens reach every mailbox unless
// Options.AppScope / SetAppScope limits their app (RBAC for Applications,
// which — unlike Add-MailboxPermission — governs Graph and EWS only).
//
// For tests: Sent (what sendMail accepted, with envelope recipients),
// ExpireDeltaTokens, InjectFaults, Hold and InFlight, DisableREST.
//
// Not modelled: message properties beyond the envelope ones (no body,
// attachments, categories), folder item counts, $filter and $orderby on
// delta, mailbox object ids, ErrorSendAsDenied for a From that is not the
// mailbox, Exchange's rewriting of sent MIME, and Recoverable Items.
package graphd
