package mailout

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"mailtokens/internal/advice"
	"mailtokens/internal/bearer"
)

// oneAPI sends one message through the task's web API (Graph's sendMail,
// the Gmail API), as it is on disk: both take the recipients from To, Cc
// and Bcc and remove Bcc from the copies the recipients get, so the Bcc
// stays in the MIME. Such an API accepts a message for all its
// recipients or for none.
//
//   - 2xx: sent to every recipient.
//   - 429, 5xx or no answer: deferred, not before Graph's Retry-After;
//     throttling or no answer also ends the pass (the next message would
//     fare the same). (The Gmail API says 403 for some rate limits: its
//     error counts them temporary.)
//   - 401, 403, 404 and a token that cannot be had: the task's problem,
//     not the message's: the message stays queued untouched and the pass
//     ends with the error, as a failed SMTP login does.
//   - any other 4xx: the message is refused for good: failed/, with
//     the API's answer in the note beside it.
func (s *Sender) oneAPI(ctx context.Context, log *slog.Logger, name string, m *message, st *retryState, rcpts []string, sum *Summary) bool {
	stop, cancel := graceful(ctx, s.cfg.Grace)
	err := s.cfg.API(stop, m.f, m.size)
	abandoned := err != nil && stop.Err() != nil
	cancel()
	s.limit.done()
	if abandoned {
		log.Info("stopping: the message in flight was abandoned and stays queued")
		sum.Stopped = true
		return false
	}
	var ge bearer.APIError
	switch {
	case err == nil:
		st.Delivered = append(st.Delivered, rcpts...)
		return s.conclude(log, name, m, st, sum)
	case !errors.As(err, &ge):
		sum.Err = err // the token: needs authorization, refresh failing, …
		return false
	case ge.Temporary():
		ok := s.deferMessage(log, name, st, sum, s.cfg.APIName+": "+ge.Reply(), ge.Wait())
		if ge.HTTPStatus() == http.StatusTooManyRequests || ge.HTTPStatus() == http.StatusForbidden || ge.HTTPStatus() == 0 {
			sum.Err = err
			return false
		}
		return ok
	case ge.HTTPStatus() == http.StatusUnauthorized || ge.HTTPStatus() == http.StatusForbidden || ge.HTTPStatus() == http.StatusNotFound:
		sum.Err = err
		return false
	}
	hint, _ := advice.Of(ge)
	if hint == "" {
		hint = hintRequeue
	}
	return s.fail(log, name, st, sum, note{outcome: "not sent: " + s.cfg.APIName + " refused the message for good", stage: s.cfg.APIName,
		reply: ge.Reply(), problem: "the API's answer: " + strings.TrimSpace(ge.Answer()), hint: hint})
}
