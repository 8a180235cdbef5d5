package mailout

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
	"mailtokens/internal/worker"
)

const (
	program     = "batchmail"
	defaultConf = "conf/batchmail.properties"
	usage       = "usage: batchmail [-conf FILE] [-once]\n       batchmail enqueue [-conf FILE] FILE|-"
)

// Main is batchmail's command line; it returns the exit code.
//
//	batchmail [-conf FILE] [-once]        send the queue (until SIGTERM, or one pass)
//	batchmail enqueue [-conf FILE] FILE|- queue one message safely
//
// With -once the exit code is 0 if the pass went well and 1 if anything
// was deferred, failed or refused, or the server could not be reached. A
// bad task file, spool or token stops batchmail before it connects, with
// every problem listed.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "enqueue" {
		return enqueueMain(args[1:], stdin, stdout, stderr)
	}
	f, err := worker.ParseFlags(program, defaultConf, args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, usage)
			return worker.ExitOK
		}
		fmt.Fprintf(stderr, "%s: %v\n%s\n", program, err, usage)
		return worker.ExitUsage
	}
	cfg, warnings, err := taskconf.LoadBatchmail(f.Conf)
	if err != nil {
		return worker.StartupError(stderr, program, f.Conf, err)
	}
	spool, err := OpenSpool(cfg.SpoolDir)
	if err != nil {
		return worker.StartupError(stderr, program, f.Conf, fmt.Errorf("MAIL_SPOOL_DIR: %w", err))
	}
	unlock, err := spool.Lock()
	if err != nil {
		return worker.StartupError(stderr, program, f.Conf, err)
	}
	defer unlock()
	spool.cleanTmp(time.Now().Add(-staleTmp))
	task, err := worker.Setup(ctx, tokenstore.ActorBatchmail, f.Conf, mailconn.SMTP,
		cfg.Store, cfg.Log, cfg.Server, cfg.Login, "MAIL_TOKEN_NAME", stderr)
	if err != nil {
		return worker.StartupError(stderr, program, f.Conf, err)
	}
	defer task.Close()
	for _, w := range warnings {
		task.Log.Warn(w)
	}
	s, err := New(Config{
		Spool: spool,
		From:  cfg.From,
		Dial: func(ctx context.Context) (*smtp.Client, error) {
			return mailconn.DialSMTP(ctx, task.Server, task.Auth, mailconn.Options{Logger: task.Log})
		},
		Server:           task.Server.Addr(),
		RatePerMinute:    cfg.RatePerMinute,
		MaxPerConnection: cfg.MaxPerConnection,
		DeleteSent:       !cfg.KeepSent,
		PollInterval:     cfg.PollInterval,
		Log:              task.Log,
		Report:           task.Report,
	})
	if err != nil {
		return worker.StartupError(stderr, program, f.Conf, err)
	}
	if f.Once {
		s.idleLevel = slog.LevelInfo
		sum := s.Pass(ctx)
		if sum.Err != nil {
			task.Report("cannot send the queued mail", sum.Err, 0)
		}
		if !sum.OK() {
			return worker.ExitFail
		}
		return worker.ExitOK
	}
	task.Log.Info("sending", "spool", spool.Dir, "server", task.Server.Addr(), "from", cfg.From,
		"rate_per_minute", cfg.RatePerMinute, "max_per_connection", cfg.MaxPerConnection)
	s.Run(ctx)
	task.Log.Info("stopped")
	return worker.ExitOK
}

// enqueueMain is `batchmail enqueue [-conf FILE] FILE|-`: it prints the
// path of the queued file.
func enqueueMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(program+" enqueue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("conf", defaultConf, "the task's properties file (only MAIL_SPOOL_DIR is read)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return worker.ExitOK
		}
		return worker.ExitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: batchmail enqueue [-conf FILE] FILE|-   (- reads the message from standard input)")
		return worker.ExitUsage
	}
	dir, err := taskconf.LoadSpoolDir(*conf)
	if err != nil {
		fmt.Fprintf(stderr, "%s enqueue: %v\n", program, err)
		return worker.ExitFail
	}
	spool, err := OpenSpool(dir)
	if err != nil {
		fmt.Fprintf(stderr, "%s enqueue: MAIL_SPOOL_DIR: %v\n", program, err)
		return worker.ExitFail
	}
	src, in := "standard input", stdin
	if name := fs.Arg(0); name != "-" {
		file, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "%s enqueue: %v\n", program, err)
			return worker.ExitFail
		}
		defer file.Close()
		src, in = name, file
	}
	path, err := spool.Enqueue(in)
	if err != nil && path != "" {
		fmt.Fprintf(stderr, "%s enqueue: %v\n", program, err) // queued, but not synced
		return worker.ExitFail
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s enqueue: %s: %v; nothing was queued\n", program, src, err)
		return worker.ExitFail
	}
	fmt.Fprintln(stdout, path)
	return worker.ExitOK
}
