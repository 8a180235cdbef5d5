package mailout

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/bearer"
	"mailtokens/internal/cmdline"
	"mailtokens/internal/gmailapi"
	"mailtokens/internal/graph"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
	"mailtokens/internal/worker"
)

// Program is batchmail's command line:
//
//	batchmail [-conf FILE] [-once]        send the queue (until SIGTERM, or one pass; SIGHUP reloads FILE)
//	batchmail [-conf FILE] enqueue FILE|- queue one message safely
//
// With -once the exit code is 0 if the pass went well and 1 if anything
// was deferred, failed or refused, or the server could not be reached. A
// bad task file, spool or token stops batchmail before it connects, with
// every problem listed.
var Program = &cmdline.Program{
	Name:  "batchmail",
	Title: "send the mail queued in spools over SMTP: one task file (-conf) or a directory of them (-tasks)",
	Conf:  "conf/batchmail.properties",
	Tasks: true,
	Commands: []cmdline.Command{
		{Args: "[-once]", Summary: "send the queued mail until SIGTERM, reloading the file(s) on SIGHUP; -once: one pass of every task, then exit 0 if all went well, 1 if not", Run: runSend},
		{Name: "enqueue", Args: "FILE|-", Summary: "queue one message safely (- reads it from standard input) and print its path; only MAIL_SPOOL_DIR is read", Run: runEnqueue},
		worker.StatusCommand("batchmail"),
	},
}

func runSend(env *cmdline.Env, args []string) error {
	once, err := worker.ParseOnce(env, args)
	if err != nil {
		return err
	}
	return worker.Serve(env, once, func(slot *worker.Slot) (worker.Loaded, error) { return load(env, slot, once) })
}

// load reads and checks the task file; its Run sends as it says.
func load(env *cmdline.Env, slot *worker.Slot, once bool) (worker.Loaded, error) {
	f, err := taskconf.Load(slot.Path)
	if err != nil {
		return worker.Loaded{}, err
	}
	cfg := taskconf.ReadBatchmail(f)
	if err := f.Err(); err != nil {
		return worker.Loaded{}, err
	}
	return worker.Loaded{Values: f.Values(), Log: worker.TaskLog(cfg.Log, slot.Path, env.Stderr),
		Run: func(ctx context.Context) error { return send(ctx, env, slot, cfg, f.Warnings, once) }}, nil
}

// send runs batchmail with cfg until ctx ends, or one pass.
func send(ctx context.Context, env *cmdline.Env, slot *worker.Slot, cfg *taskconf.Batchmail, warnings []string, once bool) error {
	spool, err := OpenSpool(cfg.SpoolDir)
	if err != nil {
		return fmt.Errorf("MAIL_SPOOL_DIR: %w", err)
	}
	unlock, err := spool.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	spool.cleanTmp(time.Now().Add(-staleTmp))
	task, err := worker.Setup(ctx, worker.Config{Actor: tokenstore.ActorBatchmail, Slot: slot, PollEvery: cfg.PollInterval,
		Task: cfg.Worker, Stderr: env.Stderr})
	if err != nil {
		return err
	}
	defer task.Close()
	for _, w := range warnings {
		task.Log.Warn(w)
	}
	sc := Config{
		Spool:            spool,
		From:             cfg.From,
		Server:           task.Server.Addr(),
		RatePerMinute:    cfg.RatePerMinute,
		MaxPerConnection: cfg.MaxPerConnection,
		DeleteSent:       !cfg.KeepSent,
		PollInterval:     cfg.PollInterval,
		Log:              task.Log,
		Report:           task.Report,
		Passed:           task.Passed,
	}
	switch cfg.Protocol {
	case mailserver.GRAPH:
		c := &graph.Client{Base: cfg.APIURL, HTTP: graph.NewHTTPClient(task.Server.RootCAs), Tokens: task.Auth.Tokens, Mailbox: cfg.User}
		sc.API, sc.APIName = c.SendMIME, "Graph sendMail"
	case mailserver.GMAILAPI:
		c := &gmailapi.Client{Base: cfg.APIURL, HTTP: bearer.NewHTTPClient(task.Server.RootCAs, 4), Tokens: task.Auth.Tokens, User: cfg.User}
		sc.API, sc.APIName = func(ctx context.Context, msg io.ReaderAt, size int64) error {
			_, err := c.Send(ctx, msg, size)
			return err
		}, "Gmail API send"
	default:
		sc.Dial = func(ctx context.Context) (*smtp.Client, error) {
			release, err := task.Login(ctx)
			if err != nil {
				return nil, err
			}
			defer release()
			return mailconn.DialSMTP(ctx, task.Server, task.Auth, mailconn.Options{Logger: task.Log})
		}
	}
	s, err := New(sc)
	if err != nil {
		return err
	}
	if once {
		s.idleLevel = slog.LevelInfo
		sum := s.Pass(ctx)
		if sum.Err != nil {
			task.Report("cannot send the queued mail", sum.Err, 0)
		}
		if !sum.OK() {
			return cmdline.ErrFailed
		}
		return nil
	}
	task.Log.Info("sending", "spool", spool.Dir, "protocol", cfg.Protocol, "server", task.Server.Addr(), "from", cfg.From,
		"rate_per_minute", cfg.RatePerMinute, "max_per_connection", cfg.MaxPerConnection, "poll_interval", cfg.PollInterval)
	s.Run(ctx)
	task.Log.Info("stopped")
	return nil
}

// runEnqueue is `batchmail enqueue FILE|-`: it prints the path of the
// queued file.
func runEnqueue(env *cmdline.Env, args []string) error {
	pos, err := env.Parse(flag.NewFlagSet("batchmail enqueue", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	dir, err := taskconf.LoadSpoolDir(env.Conf)
	if err != nil {
		return err
	}
	spool, err := OpenSpool(dir)
	if err != nil {
		return fmt.Errorf("MAIL_SPOOL_DIR: %w", err)
	}
	src, in := "standard input", env.Stdin
	if name := pos[0]; name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return err
		}
		defer file.Close()
		src, in = name, file
	}
	path, err := spool.Enqueue(in)
	if err != nil && path != "" {
		return err // queued, but not synced
	}
	if err != nil {
		return fmt.Errorf("%s: %w; nothing was queued", src, err)
	}
	fmt.Fprintln(env.Stdout, path)
	return nil
}
