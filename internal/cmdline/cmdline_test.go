package cmdline

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// toy is a program shaped like ours: a default command with -once, a
// subcommand with a flag and one argument, and a group ("token ...").
func toy(got *string) *Program {
	record := func(name string, positional int, flags ...string) func(env *Env, args []string) error {
		return func(env *Env, args []string) error {
			fs := flag.NewFlagSet(name, flag.ContinueOnError)
			vals := map[string]*string{}
			var once *bool
			for _, f := range flags {
				if f == "once" {
					once = fs.Bool(f, false, "one pass")
					continue
				}
				vals[f] = fs.String(f, "", "a value")
			}
			pos, err := env.Parse(fs, args, positional)
			if err != nil {
				return err
			}
			*got = fmt.Sprintf("%s conf=%s pos=%v", name, env.Conf, pos)
			if once != nil {
				*got += fmt.Sprintf(" once=%v", *once)
			}
			for _, f := range flags {
				if v := vals[f]; v != nil {
					*got += fmt.Sprintf(" %s=%s", f, *v)
				}
			}
			return nil
		}
	}
	return &Program{Name: "prog", Title: "a test program", Conf: "conf/prog.properties", Commands: []Command{
		{Args: "[-once]", Summary: "run", Run: record("run", 0, "once")},
		{Name: "enqueue", Args: "FILE|-", Summary: "queue", Run: record("enqueue", 1)},
		{Name: "token add", Args: "NAME --type T", Summary: "add", Run: record("token add", 1, "type")},
		{Name: "token list", Summary: "list", Run: record("token list", 0)},
		{Name: "fail", Summary: "fails", Run: func(*Env, []string) error { return ErrFailed }},
	}}
}

func TestFlagsBeforeOrAfterTheCommand(t *testing.T) {
	for _, c := range []struct {
		args string
		want string
	}{
		{"", "run conf=conf/prog.properties pos=[] once=false"},
		{"-once", "run conf=conf/prog.properties pos=[] once=true"},
		{"-conf F -once", "run conf=F pos=[] once=true"},
		{"-once -conf F", "run conf=F pos=[] once=true"},
		{"-conf F enqueue -", "enqueue conf=F pos=[-]"},
		{"enqueue -conf F -", "enqueue conf=F pos=[-]"},
		{"enqueue - -conf F", "enqueue conf=F pos=[-]"},
		{"token add x --type ms -conf F", "token add conf=F pos=[x] type=ms"},
		{"--conf=F token add --type ms x", "token add conf=F pos=[x] type=ms"},
	} {
		var got string
		var stderr bytes.Buffer
		code := toy(&got).Run(context.Background(), strings.Fields(c.args), strings.NewReader(""), &bytes.Buffer{}, &stderr)
		if code != ExitOK || got != c.want {
			t.Errorf("prog %s: exit %d, ran %q, want %q\n%s", c.args, code, got, c.want, stderr.String())
		}
	}
}

func TestHelpExitsZeroEverywhere(t *testing.T) {
	for _, args := range []string{"-h", "--help", "help", "-once -h", "-conf F -h", "enqueue -h", "enqueue --help",
		"token add -h", "token add x -h", "help token add", "version -h", "token list --help"} {
		var got string
		var stdout, stderr bytes.Buffer
		code := toy(&got).Run(context.Background(), strings.Fields(args), strings.NewReader(""), &stdout, &stderr)
		if code != ExitOK || !strings.Contains(stdout.String(), "usage:") || got != "" {
			t.Errorf("prog %s: exit %d, ran %q\nstdout: %s\nstderr: %s", args, code, got, stdout.String(), stderr.String())
		}
	}
	// A command's help lists its flags.
	var got string
	var stdout bytes.Buffer
	toy(&got).Run(context.Background(), []string{"token", "add", "-h"}, strings.NewReader(""), &stdout, &bytes.Buffer{})
	if !strings.Contains(stdout.String(), "usage: prog [-conf FILE] token add NAME --type T") || !strings.Contains(stdout.String(), "-type") {
		t.Errorf("token add -h:\n%s", stdout.String())
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"stray", `prog: unexpected argument "stray"`},
		{"-bogus", "flag provided but not defined: -bogus"},
		{"enqueue", "prog enqueue: missing FILE|-"},
		{"enqueue a b", "expected 1 argument(s), got 2"},
		{"token", "prog token: name one of these commands:"},
		{"token frob", "prog token frob: name one of these commands:"},
	} {
		var got string
		var stderr bytes.Buffer
		code := toy(&got).Run(context.Background(), strings.Fields(c.args), strings.NewReader(""), &bytes.Buffer{}, &stderr)
		if code != ExitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("prog %s: exit %d, want 2 and %q:\n%s", c.args, code, c.want, stderr.String())
		}
	}
	// Without a default command, no command is a usage error too.
	p := toy(new(string))
	p.Commands = p.Commands[1:]
	var stderr bytes.Buffer
	if code := p.Run(context.Background(), nil, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != ExitUsage ||
		!strings.Contains(stderr.String(), "token add") {
		t.Errorf("no command: exit %d\n%s", code, stderr.String())
	}
}

func TestFailuresExitOne(t *testing.T) {
	var stderr bytes.Buffer
	if code := toy(new(string)).Run(context.Background(), []string{"fail"}, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != ExitFail || stderr.Len() != 0 {
		t.Errorf("ErrFailed: exit %d, printed %q", code, stderr.String())
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := toy(new(string)).Run(context.Background(), []string{"version"}, strings.NewReader(""), &stdout, &bytes.Buffer{}); code != ExitOK ||
		!strings.HasPrefix(stdout.String(), "prog (mailtokens) ") || !strings.Contains(stdout.String(), "go1.") {
		t.Errorf("version: exit %d: %q", code, stdout.String())
	}
}

// TestSIGHUPDoesNotKill: a program run under SignalContext survives a
// SIGHUP (the default would end it with exit 129), and its command
// receives it on Env.Hangups.
func TestSIGHUPDoesNotKill(t *testing.T) {
	ctx, stop := SignalContext()
	defer stop()
	got := make(chan os.Signal, 1)
	p := &Program{Name: "worker", Commands: []Command{{Run: func(env *Env, args []string) error {
		if env.Hangups == nil {
			return errors.New("no Hangups")
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			return err
		}
		got <- <-env.Hangups
		return nil
	}}}}
	var out bytes.Buffer
	if code := p.Run(ctx, nil, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if s := <-got; s != syscall.SIGHUP {
		t.Fatalf("got %v", s)
	}
}
