// Package mailout is batchmail: the outbox spool, `batchmail enqueue`, and
// sending the queued messages over SMTP with retries.
//
// # The spool
//
// MAIL_SPOOL_DIR holds four directories:
//
//	tmp/     messages being written, and batchmail's own files being written
//	new/     the queue: NAME (a message) and, once an attempt failed, .NAME.state
//	sent/    NAME: accepted by the server (deleted instead with MAIL_KEEP_SENT = NO);
//	         NAME.reply beside it when some recipients were refused
//	failed/  NAME and NAME.reply: refused for good, with the server's full reply
//
// An application queues a message by writing it into tmp/ under a unique
// name and renaming it into new/ (Maildir's rule: batchmail never sees half
// a message); `batchmail enqueue FILE|-` does that for scripts, with fsyncs,
// and refuses input that is not an RFC 5322 message with a From field and
// a recipient. Names starting with a dot are not messages. Files left in
// tmp/ for 36 hours are deleted when batchmail starts. One batchmail at a
// time sends from a spool: it holds an flock on MAIL_SPOOL_DIR/.batchmail.lock.
//
// .NAME.state is the retry state, JSON, written to tmp/, fsynced, renamed
// over the old one and the directory fsynced, after every attempt that
// does not finish the message:
//
//	{
//	  "attempts": 2,
//	  "first_attempt": "2026-03-02T09:30:00Z",
//	  "last_attempt": "2026-03-02T09:31:00Z",
//	  "next_attempt": "2026-03-02T09:33:00Z",
//	  "last_reply": "end of data: 451 4.3.0 Try again later",
//	  "delivered": ["a@example.com"],
//	  "rejected": [{"rcpt": "b@example.com", "reply": "550 5.1.1 User unknown"}]
//	}
//
// delivered and rejected make a retry go to the other recipients only. The
// state survives restarts; a state file whose message has left new/ is
// removed.
//
// # Sending
//
// Each message goes out as it is in the file: go-mail's SMTP client is
// driven directly (MAIL, RCPT, DATA, RSET), nothing is rewritten or added.
// Only the Bcc (and Resent-Bcc) fields, with their continuation lines, are
// left out of what is transmitted; dot-stuffing and CRLF line ends are what
// SMTP itself requires (a file with LF line ends goes out with CRLF). The
// body streams from the file. The envelope sender is MAIL_FROM; the
// recipients are the addresses in To, Cc and Bcc (groups and display names
// allowed), each once.
//
// One connection carries up to MAIL_MAX_PER_CONNECTION messages, with RSET
// between them; a new connection logs in again through mailconn, with a
// token that has at least 10 minutes left. MAIL_RATE_PER_MINUTE caps the
// transactions ending in any 60 seconds (not remembered across restarts).
//
// # Outcomes
//
//   - 250 at the end of the message: moved to sent/ (or deleted).
//   - A recipient refused with 5xx: reported by name (log line, and the
//     note beside the message); the others get the message.
//   - 4xx, a network error, a timeout, a dropped connection (even after the
//     whole message went out: the server may or may not have it): the
//     message stays queued; its attempts, next try and the reply are
//     recorded, and it is tried again after 1, 2, 4 … 60 minutes.
//   - 5xx for the message (MAIL, DATA, end of data), or every recipient
//     refused: moved to failed/ with the reply in NAME.reply.
//   - A file that is not a message, or one larger than the SIZE the server
//     announces: moved to failed/ with what is wrong, without sending.
//   - The server unreachable, TLS or login failing (mailconn explains,
//     535 5.7.139 included): the pass stops, the messages are untouched,
//     and the worker retries after 10 s doubling to 5 minutes, giving the
//     advice once while the failure stays the same. So does a pass whose
//     connection broke three transactions in a row, or that cannot write
//     the spool.
//
// # Durability
//
// A message leaves new/ only after the server accepted it, by a rename (or
// an unlink), so a crash or SIGKILL at any moment leaves it either queued
// or finished, never half-moved. A kill after the server's 250 and before
// the rename sends that message once more on restart: at most one
// duplicate per kill, never a loss. Moves to sent/ are not fsynced: a power
// failure may likewise resend, never lose. SIGTERM stops before the next
// message; the message in flight may finish for up to 10 seconds, then the
// connection is closed before the end of the message, so the server
// discards it and it stays queued.
package mailout
