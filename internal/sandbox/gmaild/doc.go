// Package gmaild is the sandbox's Gmail API: it stands in for
// https://gmail.googleapis.com in tests and the demo, over the same
// mailboxes as the sandbox IMAP server in the Google style (an
// imapd.Server with Style provider.Google), so that mail appended over
// IMAP shows in history and listings, and what the API changes shows over
// IMAP. Tokens are the sandbox identity provider's Google tokens, checked
// through mailauth.Directory; Google tokens carry scopes, not audiences.
//
// Served, with {user} "me" or the token's own address:
//
//	GET    /gmail/v1/users/{user}/profile                 emailAddress, messagesTotal, threadsTotal, historyId
//	GET    /gmail/v1/users/{user}/labels                  system labels, then one user label (Label_N) per other folder
//	GET    /gmail/v1/users/{user}/messages                labelIds (all must match), includeSpamTrash, maxResults, pageToken; no q
//	GET    /gmail/v1/users/{user}/messages/{id}           format=minimal|raw|metadata|full (full when absent)
//	POST   /gmail/v1/users/{user}/messages/{id}/modify    addLabelIds / removeLabelIds
//	POST   /gmail/v1/users/{user}/messages/{id}/trash     to [Gmail]/Trash; untrash brings it back
//	DELETE /gmail/v1/users/{user}/messages/{id}           204; expunged (full scope only)
//	GET    /gmail/v1/users/{user}/history                 startHistoryId, labelId, historyTypes, maxResults, pageToken
//	POST   /gmail/v1/users/{user}/messages/send           {"raw": base64url}
//	POST   /upload/gmail/v1/users/{user}/messages/send    uploadType=media (message/rfc822) or multipart
//
// Labels and folders (mailbox.go): INBOX ↔ INBOX, [Gmail]/Sent Mail ↔
// SENT, [Gmail]/Drafts ↔ DRAFT, [Gmail]/Spam ↔ SPAM, [Gmail]/Trash ↔
// TRASH, [Gmail]/All Mail ↔ no folder label (archived), any other folder ↔
// a user label named as the folder; UNREAD ↔ no \Seen, STARRED ↔ \Flagged.
// A message is in one folder, so it has at most one folder label. Ids are
// 16 hex digits and stay the message's for its life, across moves.
// History ids count up per mailbox with every change (arrival, label or
// flag change, deletion), whoever made it.
//
// Errors have Google's shape, {"error":{"code","message","errors":[{"message",
// "domain":"global","reason"}],"status"}}:
//
//	no token                                401 UNAUTHENTICATED, reason required
//	unknown, expired, revoked or non-Google 401 UNAUTHENTICATED, reason authError "Invalid Credentials"
//	scope does not allow the method         403 PERMISSION_DENIED insufficientPermissions
//	token without a user (service account  400 failedPrecondition "Precondition check failed."
//	  without a subject)
//	another user's address as {user}        403 forbidden "Delegation denied for <token's user>"
//	user without a mailbox here             400 failedPrecondition "Mail service not enabled"
//	unknown message                         404 notFound; malformed id 400 invalidArgument
//	startHistoryId older than kept history  404 notFound "Requested entity was not found." (sync in full)
//	bad base64 in raw                       400 invalid; no recipients 400 "Recipient address required"
//	per-user quota spent                    429 rateLimitExceeded "User-rate limit exceeded.  Retry after …", Retry-After
//	InjectFaults                            429 rateLimitExceeded, 403 userRateLimitExceeded, 503 backendError
//
// Scopes per method, as each method's reference page lists them: reading
// (messages.list/get, history.list) gmail.readonly, gmail.modify,
// gmail.metadata (no format=raw or full) or the full scope
// https://mail.google.com/; getProfile and labels.list also gmail.compose
// (labels.list gmail.labels); modify and trash gmail.modify or full;
// delete only the full scope; send gmail.send, gmail.compose,
// gmail.modify or full. gmail.send cannot read, not even the profile.
//
// For tests: Sent (what send accepted, with envelope recipients),
// ForgetHistory, InjectFaults, QuotaUsed.
//
// Not modelled: threads.*, drafts.*, labels.create and the like, q
// searches, batch requests, more than one folder label per message, a
// sender's own copy being one message with INBOX and SENT, Gmail's
// rewriting of sent messages (Message-ID, Date, From), attachmentId
// references (parts come inline), push notifications (watch), and the
// per-project quota.
package gmaild
