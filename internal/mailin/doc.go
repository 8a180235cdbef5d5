// Package mailin is evmail: it receives mail from one mailbox over IMAP or
// POP3 and delivers it to a Maildir or a program, without losing or
// doubling a message.
//
// # Nothing lost, nothing doubled
//
// Every message goes through the same steps, each committed before the
// next:
//
//  1. the token store records the message as pending, with where it will go
//     (the Maildir file name);
//  2. the message is streamed to tmp/, fsynced, renamed into new/ and the
//     directory fsynced (or piped to the program, which must exit 0);
//  3. the store records it as delivered;
//  4. only then is it marked \Seen, moved or deleted on the server (POP3:
//     DELE, committed by QUIT).
//
// A crash anywhere leads at most to downloading a message again, and the
// record recognises it — IMAP by UIDVALIDITY and UID, POP3 by UIDL: a
// delivered message is not delivered again, only step 4 is redone; a
// pending one is looked for at its destination and written only if it is
// not there. A program (command: delivery) that was running when the
// crash came may be run again for the same message: it gets
// MAILTOKENS_MESSAGE_KEY (stable per message) and MAILTOKENS_REDELIVERY=1
// so it can tell.
//
// Messages are written with Unix line ends (LF), as Maildir readers expect.
package mailin
