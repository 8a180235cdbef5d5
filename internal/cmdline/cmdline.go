// Package cmdline is the one command-line shape of evadmin, evmail,
// batchmail and the demo: a program is a list of subcommands (one of them
// may be the default, run when none is named), every program takes -conf,
// flags may come before or after the subcommand, -h or --help prints the
// usage of the program or of the subcommand and exits 0, and every program
// has `version`.
//
// Exit codes: 0 success, 1 failure, 2 usage error.
//
// Signals: SIGINT and SIGTERM end [Env.Ctx]. SIGHUP never kills a
// program: it is handed to the command on [Env.Hangups], and a command
// that does not read it (evadmin, `evmail -once`, `batchmail enqueue`)
// ignores it.
package cmdline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mailtokens/internal/advice"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// Program is one command-line program.
type Program struct {
	Name  string // "evadmin"
	Title string // one line under the name in the usage
	Conf  string // the default -conf file; "" for a program without one
	// Tasks says the program also runs a directory of task files,
	// -tasks DIR, instead of the one -conf file.
	Tasks bool
	// Commands in the order the usage lists them. The one named "" is the
	// default: it runs when no subcommand is named, and it receives every
	// argument, flags included. `version` is added to every program.
	Commands []Command
}

// Command is one subcommand.
type Command struct {
	Name    string // "token add"; "" for the program's default command
	Args    string // the synopsis after the name: flags and positional arguments
	Summary string
	// Run runs the command with the arguments after its name. It parses
	// them with [Env.Parse]. A *[UsageError] exits 2 with the command's
	// usage; [ErrFailed] exits 1 and prints nothing more (the command has
	// said why); any other error is printed, with what to do about it
	// ([advice.Of]) on the next line, and exits 1.
	Run func(env *Env, args []string) error
}

// Env is what a command runs with.
type Env struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Conf is the -conf file, given before or after the subcommand.
	Conf string
	// Tasks is the -tasks directory ("" = run the -conf file), for a
	// program with [Program.Tasks].
	Tasks string
	// Hangups receives SIGHUP, the operator's "read your file again"
	// (systemctl reload); nil when the program runs without signals.
	Hangups <-chan os.Signal

	prog *Program
	cmd  *Command
}

// UsageError is a wrong command line: it exits 2 after the usage.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *[UsageError].
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ErrFailed ends a command that has already said why it failed: exit 1,
// nothing more printed.
var ErrFailed = errors.New("failed")

// errHelp ends a command whose usage was printed on request: exit 0.
var errHelp = errors.New("help shown")

// Main runs p with the process's arguments until SIGINT or SIGTERM, and
// exits with its code. SIGHUP goes to the command (see [SignalContext]).
func Main(p *Program) {
	ctx, stop := SignalContext()
	code := p.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// SignalContext ends on SIGINT or SIGTERM: a worker finishes or abandons
// the message in hand cleanly, and the web utility shuts down. It also
// catches SIGHUP, which would otherwise kill the process (exit 129, which
// systemd's Restart=on-failure does not restart): [Program.Run] hands it
// to the command as [Env.Hangups].
func SignalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// One pending SIGHUP is enough: a reload reads the file as it is then.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return WithHangups(ctx, hup), func() { signal.Stop(hup); stop() }
}

type hangupsKey struct{}

// WithHangups returns ctx carrying hup, which [Program.Run] hands to the
// command as [Env.Hangups]; tests send SIGHUP on it without a signal.
func WithHangups(ctx context.Context, hup <-chan os.Signal) context.Context {
	return context.WithValue(ctx, hangupsKey{}, hup)
}

// Run runs p with args (without the program name) and returns the exit code.
func (p *Program) Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	hup, _ := ctx.Value(hangupsKey{}).(<-chan os.Signal)
	env := &Env{Ctx: ctx, Stdin: stdin, Stdout: stdout, Stderr: stderr, Conf: p.Conf, Hangups: hup, prog: p}
	def := p.command("")

	// The flags before the subcommand: -conf, or the default command's.
	pre := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	pre.SetOutput(io.Discard)
	pre.Usage = func() {}
	if p.Conf != "" {
		pre.StringVar(&env.Conf, "conf", p.Conf, "")
	}
	if p.Tasks {
		pre.StringVar(&env.Tasks, "tasks", "", "")
	}
	err := pre.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		p.usage(stdout)
		return ExitOK
	case err != nil && def != nil:
		return env.run(def, args) // a flag of the default command: it parses everything
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		p.usage(stderr)
		return ExitUsage
	}
	rest := pre.Args()
	if len(rest) > 0 && rest[0] == "help" {
		if c, _ := p.find(rest[1:]); c != nil && len(rest) > 1 {
			env.cmd = c
			env.commandUsage(stdout, nil)
		} else {
			p.usage(stdout)
		}
		return ExitOK
	}
	if c, cargs := p.find(rest); c != nil {
		return env.run(c, cargs)
	}
	if len(rest) > 0 {
		if group := p.group(rest[0]); len(group) > 0 {
			fmt.Fprintf(stderr, "%s %s: name one of these commands:\n", p.Name, strings.Join(rest, " "))
			p.list(stderr, group)
			return ExitUsage
		}
	}
	switch {
	case def != nil:
		return env.run(def, rest)
	case len(rest) == 0:
		p.usage(stderr)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n", p.Name, strings.Join(rest, " "))
	p.usage(stderr)
	return ExitUsage
}

func (env *Env) run(c *Command, args []string) int {
	env.cmd = c
	err := c.Run(env, args)
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "%s: %s\n", env.Title(), ue.Msg)
		env.commandUsage(env.Stderr, nil)
		return ExitUsage
	case errors.Is(err, ErrFailed):
		return ExitFail
	default:
		fmt.Fprintf(env.Stderr, "%s: %v\n", env.Title(), err)
		if text, _ := advice.Of(err); text != "" {
			fmt.Fprintln(env.Stderr, text)
		}
		return ExitFail
	}
}

// Program is the program's name ("evmail").
func (env *Env) Program() string { return env.prog.Name }

// Title is "evadmin token add", or the program's name for its default
// command.
func (env *Env) Title() string {
	if env.cmd == nil || env.cmd.Name == "" {
		return env.prog.Name
	}
	return env.prog.Name + " " + env.cmd.Name
}

// Parse parses a command's flags from args; the program's -conf and -h are
// understood too. Positional arguments may come before, between or after
// the flags ("token add NAME --type …" reads naturally); the command takes
// exactly positional of them.
func (env *Env) Parse(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if env.prog.Conf != "" && fs.Lookup("conf") == nil {
		fs.StringVar(&env.Conf, "conf", env.Conf, "the properties file")
	}
	if env.prog.Tasks && fs.Lookup("tasks") == nil {
		fs.StringVar(&env.Tasks, "tasks", env.Tasks, "run every *.properties file in this directory instead of the -conf file")
	}
	var pos []string
	for len(args) > 0 {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			env.commandUsage(env.Stdout, fs)
			return nil, errHelp
		}
		if err != nil {
			return nil, &UsageError{Msg: err.Error()}
		}
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	switch {
	case len(pos) == positional:
		return pos, nil
	case positional == 0:
		return nil, Usagef("unexpected argument %q", pos[0])
	case len(pos) == 0:
		return nil, Usagef("missing %s", env.cmdArgs())
	}
	return nil, Usagef("expected %d argument(s), got %d: %s", positional, len(pos), strings.Join(pos, " "))
}

// cmdArgs is the command's synopsis without its flags: what a missing
// positional argument is called.
func (env *Env) cmdArgs() string {
	var words []string
	for _, w := range strings.Fields(env.cmd.Args) {
		if !strings.HasPrefix(w, "[") && !strings.HasPrefix(w, "-") {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return "an argument"
	}
	return strings.Join(words, " ")
}

// commandUsage prints one command's usage, with its flags when fs is known.
func (env *Env) commandUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n", env.prog.synopsis(env.cmd))
	if env.cmd.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", env.cmd.Summary)
	}
	if fs == nil {
		return
	}
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nflags (before or after the arguments):\n%s", b.String())
	}
}

func (p *Program) synopsis(c *Command) string {
	parts := []string{p.Name}
	switch {
	case p.Tasks:
		parts = append(parts, "[-conf FILE | -tasks DIR]")
	case p.Conf != "":
		parts = append(parts, "[-conf FILE]")
	}
	if c.Name != "" {
		parts = append(parts, c.Name)
	}
	if c.Args != "" {
		parts = append(parts, c.Args)
	}
	return strings.Join(parts, " ")
}

// commands is p's commands with `version` added.
func (p *Program) commands() []Command {
	return append(p.Commands[:len(p.Commands):len(p.Commands)], Command{
		Name: "version", Summary: "print the version and exit", Run: runVersion})
}

func (p *Program) command(name string) *Command {
	for _, c := range p.commands() {
		if c.Name == name {
			return &c
		}
	}
	return nil
}

// find is the named command that args start with, and the arguments after
// its name.
func (p *Program) find(args []string) (*Command, []string) {
	for _, c := range p.commands() {
		words := strings.Fields(c.Name)
		if len(words) > 0 && len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.Name {
			return &c, args[len(words):]
		}
	}
	return nil, nil
}

// group is the commands whose name starts with word ("token").
func (p *Program) group(word string) []Command {
	var out []Command
	for _, c := range p.commands() {
		if strings.HasPrefix(c.Name, word+" ") {
			out = append(out, c)
		}
	}
	return out
}

func (p *Program) usage(w io.Writer) {
	fmt.Fprintf(w, "%s — %s\n\nusage:\n", p.Name, p.Title)
	p.list(w, p.commands())
	if p.Conf != "" {
		fmt.Fprintf(w, "\n-conf FILE is %s unless given; flags may come before or after the command.\n", p.Conf)
	}
	fmt.Fprintf(w, "`%s help COMMAND` or `%s COMMAND -h` shows a command's flags.\n", p.Name, p.Name)
	fmt.Fprintln(w, "exit status: 0 success, 1 failure, 2 usage error")
}

func (p *Program) list(w io.Writer, cmds []Command) {
	for _, c := range cmds {
		fmt.Fprintf(w, "  %s\n      %s\n", p.synopsis(&c), c.Summary)
	}
}

// newFlagSet is a flag set for a command: errors are returned, not printed.
func newFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }
