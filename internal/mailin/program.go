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
	Title: "receive one mailbox over IMAP or POP3 into a Maildir or a program",
	Conf:  "conf/evmail.properties",
	Commands: []cmdline.Command{{
		Args:    "[-once]",
		Summary: "receive mail until SIGTERM, reloading the file on SIGHUP; -once: one pass, then exit 0 if all went well, 1 if not",
		Run:     run,
	}},
}

func run(env *cmdline.Env, args []string) error {
	once, err := worker.ParseOnce(env, args)
	if err != nil {
		return err
	}
	return worker.Serve(env, once, func() (worker.Loaded, error) { return load(env, once) })
}

// load reads and checks the task file; its Run receives as it says.
func load(env *cmdline.Env, once bool) (worker.Loaded, error) {
	f, err := taskconf.Load(env.Conf)
	if err != nil {
		return worker.Loaded{}, err
	}
	cfg := taskconf.ReadEvmail(f)
	if err := f.Err(); err != nil {
		return worker.Loaded{}, err
	}
	return worker.Loaded{Values: f.Values(), Log: worker.TaskLog(cfg.Log, env.Conf, env.Stderr),
		Run: func(ctx context.Context) error { return receive(ctx, env, cfg, f.Warnings, once) }}, nil
}

// receive runs evmail with cfg until ctx ends, or one pass.
func receive(ctx context.Context, env *cmdline.Env, cfg *taskconf.Evmail, warnings []string, once bool) error {
	task, err := worker.Setup(ctx, worker.Config{Actor: tokenstore.ActorEvmail, TaskPath: env.Conf, PollEvery: cfg.PollInterval,
		Task: cfg.Worker, Stderr: env.Stderr})
	if err != nil {
		return worker.StartupError(env, err)
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
		db, err = database.Open(ctx, database.Options{Path: cfg.Store.Path, KeyFile: cfg.Store.KeyFile,
			PasswordFile: cfg.Store.PasswordFile, MustExist: true})
		if err != nil {
			return worker.StartupError(env, err)
		}
		for _, w := range db.Warnings() {
			task.Log.Warn(w)
		}
		defer db.Close()
	}
	r, err := NewReceiver(cfg, task, NewLedger(db))
	if err != nil {
		return worker.StartupError(env, err)
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
