package admin

import (
	"bufio"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"mailtokens/internal/health"
	"mailtokens/internal/tokenstore"
)

// metrics answers Prometheus (GET /metrics): per token, seconds until the
// access token expires, status, refresh failures and the last successful
// refresh. It takes a session or, for Prometheus, the metrics bearer token.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if !s.metricsAllowed(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="evadmin metrics"`)
		http.Error(w, "log in, or send the metrics token as a bearer token", http.StatusUnauthorized)
		return
	}
	tokens, err := s.store.List(r.Context())
	if err != nil {
		http.Error(w, "token store unreachable", http.StatusServiceUnavailable)
		return
	}
	tasks, err := s.store.AllTasks(r.Context())
	if err != nil {
		http.Error(w, "token store unreachable", http.StatusServiceUnavailable)
		return
	}
	now := s.now()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	defer b.Flush()

	metric := func(name, help, typ string, each func(t *tokenstore.Token)) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, t := range tokens {
			each(t)
		}
	}
	metric("mailtokens_token_access_expiry_seconds", "Seconds until the access token expires (negative: expired; absent: no token).", "gauge",
		func(t *tokenstore.Token) {
			if t.HasAccessToken {
				fmt.Fprintf(b, "mailtokens_token_access_expiry_seconds{%s} %.0f\n", labels(t), t.Expiry.Sub(now).Seconds())
			}
		})
	statuses := []tokenstore.Status{tokenstore.StatusNew, tokenstore.StatusValid, tokenstore.StatusRefreshFailing,
		tokenstore.StatusNeedsAuthorization, tokenstore.StatusRevoked}
	metric("mailtokens_token_status", "1 for the token's lifecycle status, 0 for the others.", "gauge",
		func(t *tokenstore.Token) {
			for _, st := range statuses {
				v := 0
				if t.Status == st {
					v = 1
				}
				fmt.Fprintf(b, "mailtokens_token_status{%s,status=%q} %d\n", labels(t), st, v)
			}
		})
	metric("mailtokens_token_refresh_failures", "Refresh failures since the last success.", "gauge",
		func(t *tokenstore.Token) {
			fmt.Fprintf(b, "mailtokens_token_refresh_failures{%s} %d\n", labels(t), t.RefreshFailures)
		})
	metric("mailtokens_token_last_refresh_timestamp_seconds", "When the token was last refreshed or authorized (Unix time).", "gauge",
		func(t *tokenstore.Token) {
			if !t.AccessIssuedAt.IsZero() {
				fmt.Fprintf(b, "mailtokens_token_last_refresh_timestamp_seconds{%s} %d\n", labels(t), t.AccessIssuedAt.Unix())
			}
		})
	metric("mailtokens_token_last_used_timestamp_seconds", "When a worker last used the token (Unix time).", "gauge",
		func(t *tokenstore.Token) {
			if !t.LastUsedAt.IsZero() {
				fmt.Fprintf(b, "mailtokens_token_last_used_timestamp_seconds{%s,by=%q} %d\n", labels(t), t.LastUsedBy, t.LastUsedAt.Unix())
			}
		})
	metric("mailtokens_token_failing_tasks", "Tasks whose logins to the mail server fail now.", "gauge",
		func(t *tokenstore.Token) {
			fmt.Fprintf(b, "mailtokens_token_failing_tasks{%s} %d\n", labels(t), health.Of(t, tasks[t.ID], now).Failing)
		})
	perTask := func(name, help, typ string, value func(u tokenstore.TaskUse) (float64, bool)) {
		metric(name, help, typ, func(t *tokenstore.Token) {
			for _, u := range tasks[t.ID] {
				if v, ok := value(u); ok {
					fmt.Fprintf(b, "%s{%s,task=%q,program=%q,host=%q} %g\n", name, labels(t), promEscape(u.Task), u.Actor, promEscape(u.Host), v)
				}
			}
		})
	}
	stamp := func(at time.Time) (float64, bool) { return float64(at.Unix()), !at.IsZero() }
	perTask("mailtokens_task_last_login_success_timestamp_seconds", "When the task last logged in to its mail server (Unix time).", "gauge",
		func(u tokenstore.TaskUse) (float64, bool) { return stamp(u.LastOK) })
	perTask("mailtokens_task_last_login_failure_timestamp_seconds", "When a login of the task last failed (Unix time).", "gauge",
		func(u tokenstore.TaskUse) (float64, bool) { return stamp(u.LastFailure) })
	perTask("mailtokens_task_login_failures_total", "Failed logins of the task since it first used the token.", "counter",
		func(u tokenstore.TaskUse) (float64, bool) { return float64(u.Failures), true })
	perTask("mailtokens_task_last_report_timestamp_seconds", "When the task's worker last reported (Unix time); a task that stops reporting is silent.", "gauge",
		func(u tokenstore.TaskUse) (float64, bool) { return stamp(u.LastSeen) })
}

func labels(t *tokenstore.Token) string {
	return fmt.Sprintf("token=%q,type=%q", promEscape(t.Name), t.Type)
}

// promEscape leaves what %q does not escape the Prometheus way: %q already
// escapes backslash, quote and newline as the text format wants.
func promEscape(s string) string { return strings.ToValidUTF8(s, "") }

func (s *Server) metricsAllowed(r *http.Request) bool {
	if _, err := s.session(r); err == nil {
		return true
	}
	if s.cfg.MetricsToken == "" {
		return false
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.MetricsToken)) == 1
}
