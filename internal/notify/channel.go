package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/advice"
	"mailtokens/internal/mailout"
)

// A Channel delivers events to admins.
type Channel interface {
	// Name is the channel's name on the list and in logs: "email",
	// "command", "webhook".
	Name() string
	// Send delivers e; doc is its JSON. An error means not delivered.
	Send(ctx context.Context, e *Event, doc []byte) error
}

// Email sends each event as a plain-text message through an SMTP account
// (NOTIFY_SMTP_*), over a connection from mailconn.DialSMTP.
type Email struct {
	From string
	To   []string
	// Dial logs in to the server; each event takes a new connection.
	Dial func(ctx context.Context) (*smtp.Client, error)
	// Now dates the message; nil = time.Now.
	Now func() time.Time
}

// Name is "email".
func (*Email) Name() string { return "email" }

// Send composes the message and sends it to every address in To.
func (m *Email) Send(ctx context.Context, e *Event, _ []byte) error {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	msg, err := e.Message(m.From, m.To, now())
	if err != nil {
		return err
	}
	c, err := m.Dial(ctx)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	defer func() {
		if c.Quit() != nil {
			c.Close()
		}
	}()
	if err := mailout.Send(ctx, c, m.From, m.To, bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("email to %s: %w", strings.Join(m.To, ", "), err)
	}
	return nil
}

// Command runs a program (NOTIFY_COMMAND) without a shell, with the JSON
// on standard input; exit status 0 means delivered.
type Command struct {
	Argv    []string
	Timeout time.Duration // 0 = DefaultCommandTimeout
}

// DefaultCommandTimeout bounds a NOTIFY_COMMAND run.
const DefaultCommandTimeout = time.Minute

// Name is "command".
func (*Command) Name() string { return "command" }

// Send runs the program once.
func (c *Command) Send(ctx context.Context, _ *Event, doc []byte) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Stdin = bytes.NewReader(doc)
	var out limited
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	cmd.WaitDelay = 5 * time.Second // a child that keeps stderr open does not hold us
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w after %s", ctx.Err(), timeout)
		}
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return &CommandError{Program: c.Argv[0], Err: err, Stderr: msg}
		}
		return &CommandError{Program: c.Argv[0], Err: err}
	}
	return nil
}

// CommandError is a NOTIFY_COMMAND run that did not exit 0.
type CommandError struct {
	Program string
	Err     error
	Stderr  string // the start of what it wrote to stderr
}

func (e *CommandError) Error() string {
	s := fmt.Sprintf("command %s: %v", e.Program, e.Err)
	if e.Stderr != "" {
		s += ": " + e.Stderr
	}
	return s
}

func (e *CommandError) Unwrap() error { return e.Err }

// Advice: the program is the site's own.
func (e *CommandError) Advice() (string, advice.Kind) {
	return "Run NOTIFY_COMMAND by hand with a notification on standard input (evadmin notify test) and fix what it says.", advice.Misconfigured
}

// limited keeps the first 2 KiB written to it.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := 2048 - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Webhook POSTs the JSON to a URL (NOTIFY_WEBHOOK_URL); a 2xx answer means
// delivered.
type Webhook struct {
	URL    string
	Client *http.Client // nil = one with DefaultWebhookTimeout
}

// DefaultWebhookTimeout bounds a webhook request.
const DefaultWebhookTimeout = 30 * time.Second

// Name is "webhook".
func (*Webhook) Name() string { return "webhook" }

// Send posts once.
func (w *Webhook) Send(ctx context.Context, _ *Event, doc []byte) error {
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultWebhookTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mailtokens-evadmin")
	resp, err := client.Do(req)
	if err != nil {
		// The URL may carry a secret (chat webhooks do): name only the host.
		return &WebhookError{Host: req.URL.Host, Err: unwrapURL(err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return &WebhookError{Host: req.URL.Host, Status: resp.Status, Body: oneLine(string(body))}
	}
	return nil
}

// unwrapURL drops *url.Error's quoting of the whole URL, which may hold a
// secret token.
func unwrapURL(err error) error {
	if u, ok := err.(interface{ Unwrap() error }); ok {
		if inner := u.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// WebhookError is a webhook POST that got no 2xx answer.
type WebhookError struct {
	Host   string
	Status string // the HTTP status, when an answer came
	Body   string // its start
	Err    error  // no answer
}

func (e *WebhookError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("webhook at %s: %v", e.Host, e.Err)
	}
	s := fmt.Sprintf("webhook at %s answered %s", e.Host, e.Status)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

func (e *WebhookError) Unwrap() error { return e.Err }

// Advice: a 4xx is the URL or the receiving side's settings; anything
// else passes (it is retried).
func (e *WebhookError) Advice() (string, advice.Kind) {
	if e.Err == nil && strings.HasPrefix(e.Status, "4") {
		return "Check NOTIFY_WEBHOOK_URL and the receiving service's settings.", advice.Misconfigured
	}
	return "", advice.Temporary
}
