package mailout

import (
	"fmt"
	"strings"
	"time"
)

// Hints that end the notes beside messages.
const (
	hintRequeue = "To send it again, fix what the reply says, then delete this file and move the message back into new/."
	hintFix     = "Fix the file (or the application that wrote it) and queue it again with `batchmail enqueue`."
)

// note is what a person finds beside a message in failed/ (or in sent/
// when some recipients were refused): NAME.reply, plain text.
type note struct {
	outcome string // one line: what happened
	stage   string // where the transaction stopped, if it did
	reply   string // the server's full reply
	problem string // or what is wrong on this side (the file, its size)
	hint    string // what to do about it
}

// noteText writes n with what the retry state knows: the recipients
// delivered and refused, and the attempts.
func (s *Sender) noteText(name string, st *retryState, n note) string {
	var b strings.Builder
	line := func(label, value string) {
		// Continuation lines of a multi-line reply line up under the first.
		value = strings.ReplaceAll(value, "\n", "\n"+strings.Repeat(" ", len(label)+2))
		fmt.Fprintf(&b, "%s: %s\n", label, value)
	}
	line("Message", name)
	line("Outcome", n.outcome)
	line("Time", s.clock.Now().Format(time.RFC3339))
	if s.cfg.Server != "" {
		line("Server", s.cfg.Server)
	}
	line("Envelope sender", s.cfg.From)
	if n.stage != "" {
		line("Stopped at", n.stage)
	}
	if n.reply != "" {
		line("Reply", n.reply)
	}
	if n.problem != "" {
		line("Problem", n.problem)
	}
	if len(st.Delivered) > 0 {
		line("Delivered to", strings.Join(st.Delivered, ", "))
	}
	if len(st.Rejected) > 0 {
		b.WriteString("Refused recipients:\n")
		for _, r := range st.Rejected {
			fmt.Fprintf(&b, "  %s: %s\n", r.Rcpt, strings.ReplaceAll(r.Reply, "\n", "\n    "))
		}
	}
	if st.Attempts > 0 {
		line("Earlier attempts", fmt.Sprintf("%d, the first at %s; the last reply: %s",
			st.Attempts, st.FirstAttempt.Format(time.RFC3339), st.LastReply))
	}
	if n.hint != "" {
		b.WriteString("\n" + n.hint + "\n")
	}
	return b.String()
}
