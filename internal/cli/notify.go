package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/notify"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
)

// actorNotify is who uses NOTIFY_SMTP_TOKEN_NAME's token, in its record.
const actorNotify tokenstore.Actor = "evadmin"

// newNotifier builds the notifier the NOTIFY_* keys describe; nil when
// none is set.
func newNotifier(cfg *taskconf.Evadmin, store *tokenstore.Store, log *slog.Logger) (*notify.Notifier, error) {
	nc := cfg.Notify
	if !nc.Enabled() {
		return nil, nil
	}
	var channels []notify.Channel
	if len(nc.EmailTo) > 0 {
		srv := nc.SMTP.Server
		if nc.SMTP.CAFile != "" {
			roots, err := mailconn.RootsFromFile(nc.SMTP.CAFile, false)
			if err != nil {
				return nil, fmt.Errorf("NOTIFY_SMTP_TLS_CA_FILE: %w", err)
			}
			srv.RootCAs = roots
		}
		var auth mailconn.Auth
		switch nc.SMTP.AuthType {
		case taskconf.Password:
			auth = mailconn.Auth{User: nc.SMTP.User, Password: nc.SMTP.Password}
		case taskconf.OAuth2:
			auth = mailconn.Auth{User: nc.SMTP.User, Tokens: store.Source(nc.SMTP.TokenName, actorNotify)}
		}
		opt := mailconn.Options{Logger: log}
		channels = append(channels, &notify.Email{From: nc.EmailFrom, To: nc.EmailTo,
			Dial: func(ctx context.Context) (*smtp.Client, error) { return mailconn.DialSMTP(ctx, srv, auth, opt) }})
	}
	if len(nc.Command) > 0 {
		channels = append(channels, &notify.Command{Argv: nc.Command})
	}
	if nc.WebhookURL != "" {
		channels = append(channels, &notify.Webhook{URL: nc.WebhookURL})
	}
	return notify.New(store, notify.Config{Channels: channels, PublicURL: cfg.PublicURL, MailGrace: nc.MailGrace, Log: log})
}

// startNotifier starts the periodic check that tells admins about
// tokens that need a person, if NOTIFY_* keys are set. stop ends it and
// waits for it.
func startNotifier(ctx context.Context, cfg *taskconf.Evadmin, store *tokenstore.Store, log *slog.Logger) (stop func(), err error) {
	n, err := newNotifier(cfg, store, log)
	if err != nil || n == nil {
		return func() {}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx, notify.DefaultInterval)
	}()
	return func() { cancel(); <-done }, nil
}

func runNotifyTest(env *Env, args []string) error {
	if _, err := env.Parse(flag.NewFlagSet("notify test", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	if !cfg.Notify.Enabled() {
		return fmt.Errorf("%s sets no notification channel: set NOTIFY_EMAIL_TO (and NOTIFY_SMTP_*), NOTIFY_COMMAND or NOTIFY_WEBHOOK_URL", env.Conf)
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := newNotifier(cfg, store, env.logger())
	if err != nil {
		return err
	}
	if err := n.Test(env.Ctx); err != nil {
		return fmt.Errorf("notify test:\n%w", err)
	}
	fmt.Fprintln(env.Stdout, "test notification delivered through every channel")
	return nil
}
