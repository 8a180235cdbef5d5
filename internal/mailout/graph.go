package mailout

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"mailtokens/internal/graph"
)

// oneGraph sends one message with Graph's sendMail, as it is on disk
// (Graph takes the recipients from To, Cc and Bcc, and removes Bcc from
// the copies the recipients get, so the Bcc stays in the MIME). Graph
// accepts a message for all its recipients or for none.
//
//   - 202: sent to every recipient.
//   - 429, 5xx or no answer: deferred, not before Graph's Retry-After;
//     throttling or no answer also ends the pass (the next message would
//     fare the same).
//   - 401, 403, 404 and a token that cannot be had: the task's problem,
//     not the message's: the message stays queued untouched and the pass
//     ends with the error, as a failed SMTP login does.
//   - any other 4xx: the message is refused for good: failed/, with
//     Graph's answer in the note beside it.
func (s *Sender) oneGraph(ctx context.Context, log *slog.Logger, name string, m *message, st *retryState, rcpts []string, sum *Summary) bool {
	stop, cancel := graceful(ctx, s.cfg.Grace)
	err := s.cfg.Graph.SendMIME(stop, m.f, m.size)
	abandoned := err != nil && stop.Err() != nil
	cancel()
	s.limit.done()
	if abandoned {
		log.Info("stopping: the message in flight was abandoned and stays queued")
		sum.Stopped = true
		return false
	}
	var ge *graph.Error
	switch {
	case err == nil:
		st.Delivered = append(st.Delivered, rcpts...)
		return s.conclude(log, name, m, st, sum)
	case !errors.As(err, &ge):
		sum.Err = err // the token: needs authorization, refresh failing, …
		return false
	case ge.Temporary():
		ok := s.deferMessage(log, name, st, sum, "Graph sendMail: "+ge.Reply(), ge.RetryAfter)
		if ge.Status == http.StatusTooManyRequests || ge.Status == 0 {
			sum.Err = err
			return false
		}
		return ok
	case ge.Status == http.StatusUnauthorized || ge.Status == http.StatusForbidden || ge.Status == http.StatusNotFound:
		sum.Err = err
		return false
	}
	hint, _ := ge.Advice()
	if hint == "" {
		hint = hintRequeue
	}
	return s.fail(log, name, st, sum, note{outcome: "not sent: Graph refused the message for good", stage: "sendMail",
		reply: ge.Reply(), problem: "Graph's answer: " + strings.TrimSpace(ge.Body), hint: hint})
}
