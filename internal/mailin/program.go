package mailin

import (
	"context"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/database"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
	"mailtokens/internal/worker"
)

// Program is evmail's command line: evmail [-conf FILE] [-once].
var Program = &cmdline.Program{
	Name:  "evmail",
	Title: "receive mailboxes over IMAP or POP3 into a Maildir or a program: one task file (-conf) or a directory of them (-tasks)",
	Conf:  "conf/evmail.properties",
	Tasks: true,
	Commands: []cmdline.Command{{
		Args:    "[-once]",
		Summary: "receive mail until SIGTERM, reloading the file(s) on SIGHUP; -once: one pass of every task, then exit 0 if all went well, 1 if not",
		Run:     run,
	}, worker.StatusCommand("evmail")},
}

func run(env *cmdline.Env, args []string) error {
	once, err := worker.ParseOnce(env, args)
	if err != nil {
		return err
	}
	return worker.Serve(env, once, func(slot *worker.Slot) (worker.Loaded, error) { return load(env, slot, once) })
}

// load reads and checks the task file; its Run receives as it says.
func load(env *cmdline.Env, slot *worker.Slot, once bool) (worker.Loaded, error) {
	f, err := taskconf.Load(slot.Path)
	if err != nil {
		return worker.Loaded{}, err
	}
	cfg := taskconf.ReadEvmail(f)
	if err := f.Err(); err != nil {
		return worker.Loaded{}, err
	}
	return worker.Loaded{Values: f.Values(), Log: worker.TaskLog(cfg.Log, slot.Path, env.Stderr),
		Run: func(ctx context.Context) error { return receive(ctx, env, slot, cfg, f.Warnings, once) }}, nil
}

// taskStarts, when set, is called as each task starts: tests crash one
// there.
var taskStarts func(path string)

// receive runs evmail with cfg until ctx ends, or one pass.
func receive(ctx context.Context, env *cmdline.Env, slot *worker.Slot, cfg *taskconf.Evmail, warnings []string, once bool) error {
	if taskStarts != nil {
		taskStarts(slot.Path)
	}
	task, err := worker.Setup(ctx, worker.Config{Actor: tokenstore.ActorEvmail, Slot: slot, PollEvery: cfg.PollInterval,
		Task: cfg.Worker, Stderr: env.Stderr})
	if err != nil {
		return err
	}
	defer task.Close()
	for _, w := range warnings {
		task.Log.Warn(w)
	}
	// The ledger lives in the shared database even for PASSWORD logins.
	var db *database.DB
	if task.Store != nil {
		db = task.Store.DB()
	} else {
		store, release, err := slot.Shared.Store(ctx, cfg.Store)
		if err != nil {
			return err
		}
		defer release()
		db = store.DB()
		for _, w := range db.Warnings() {
			task.Log.Warn(w)
		}
	}
	r, err := NewReceiver(cfg, task, NewLedger(db))
	if err != nil {
		return err
	}
	task.Log.Info("evmail started", "protocol", cfg.Protocol, "server", task.Server.Addr(), "mailbox", cfg.User,
		"folder", cfg.Folder, "deliver_to", cfg.DeliverTo.String(), "after_delivery", cfg.AfterDelivery, "once", once)
	if once {
		if err := r.Once(ctx); err != nil {
			task.Report("evmail -once failed", err, 0)
			return cmdline.ErrFailed
		}
		return nil
	}
	return r.Run(ctx)
}
