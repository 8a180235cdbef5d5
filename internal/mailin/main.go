package mailin

import (
	"context"
	"fmt"
	"io"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
	"mailtokens/internal/worker"
)

// Main is the evmail program: evmail [-conf FILE] [-once]. It returns the
// exit code.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	flags, err := worker.ParseFlags("evmail", "conf/evmail.properties", args, stderr)
	if err != nil {
		return worker.ExitUsage
	}
	cfg, warnings, err := taskconf.LoadEvmail(flags.Conf)
	if err != nil {
		return worker.StartupError(stderr, "evmail", flags.Conf, err)
	}
	proto := mailconn.IMAP
	if cfg.Protocol == taskconf.POP3 {
		proto = mailconn.POP3
	}
	task, err := worker.Setup(ctx, tokenstore.ActorEvmail, flags.Conf, proto, cfg.Store, cfg.Log, cfg.Server, cfg.Login,
		"MAILBOX_EMAIL_TOKEN_NAME", stderr)
	if err != nil {
		return worker.StartupError(stderr, "evmail", flags.Conf, err)
	}
	defer task.Close()
	for _, w := range warnings {
		task.Log.Warn(w)
	}
	// The delivery state lives in the store even for PASSWORD logins.
	store := task.Store
	if store == nil {
		store, err = tokenstore.Open(ctx, tokenstore.Options{Path: cfg.Store.Path, KeyFile: cfg.Store.KeyFile})
		if err != nil {
			return worker.StartupError(stderr, "evmail", flags.Conf, err)
		}
		defer store.Close()
	}
	r, err := NewReceiver(cfg, task, store)
	if err != nil {
		return worker.StartupError(stderr, "evmail", flags.Conf, err)
	}
	task.Log.Info("evmail started", "protocol", cfg.Protocol, "server", task.Server.Addr(), "mailbox", cfg.User,
		"folder", cfg.Folder, "deliver_to", cfg.DeliverTo.String(), "after_delivery", cfg.AfterDelivery, "once", flags.Once)
	if flags.Once {
		if err := r.Once(ctx); err != nil {
			task.Report("evmail -once failed", err, 0)
			return worker.ExitFail
		}
		return worker.ExitOK
	}
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "evmail:", err)
		return worker.ExitFail
	}
	return worker.ExitOK
}
