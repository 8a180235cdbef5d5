// Package cli is evadmin's command line: the same token store and the same
// rules as the web utility, for scripts and for admins at a terminal. One
// file per subcommand. Exit codes: 0 success, 1 failure, 2 usage error.
// Secrets come from standard input or files, never from flag values (which
// other users can read in the process list).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"mailtokens/internal/advice"
	"mailtokens/internal/logging"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// Env is what a command runs with.
type Env struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// ConfPath is the -conf file.
	ConfPath string

	cfg *taskconf.Evadmin
	log *slog.Logger
}

// usageError is a wrong command line; it exits 2 after the usage text.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand.
type command struct {
	name    string // "token add"
	args    string // synopsis after the name
	summary string
	run     func(env *Env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"serve", "", "run the web utility", runServe},
		{"demo", "[--dir DIR] [--listen ADDR] [--dovecot]", "run the whole loop on this machine, with a sandbox standing in for Microsoft and Google (--dovecot: a private Dovecot as the mail server)", runDemo},
		{"admin passwd", "NAME", "create an admin or change its password (password on stdin)", runAdminPasswd},
		{"token list", "[--json]", "list tokens and their health", runTokenList},
		{"token show", "NAME [--json]", "show one token, its health and events", runTokenShow},
		{"token add", "NAME --type microsoft|google|generic --client-id C [--email E] [--tenant T] [--scope S] [--auth-url U] [--token-url U] [--client-secret-file F]", "add a token (secret from the file, or stdin)", runTokenAdd},
		{"token login", "NAME [--device]", "get the token: sign in through the browser, or with a device code", runTokenLogin},
		{"token paste", "NAME", "store a token response (JSON on stdin: access_token, refresh_token, expires_in)", runTokenPaste},
		{"token refresh", "NAME", "refresh the access token now", runTokenRefresh},
		{"token test", "NAME --imap|--pop3|--smtp HOST:PORT [--security SSL|STARTTLS|NONE] [--user U]", "log in to a mail server with the token", runTokenTest},
		{"token revoke", "NAME", "revoke the token (at Google too) and forget it", runTokenRevoke},
		{"token delete", "NAME", "delete the token", runTokenDelete},
	}
}

// Run runs evadmin with args (without the program name) and returns the
// exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Ctx: ctx, Stdin: stdin, Stdout: stdout, Stderr: stderr}
	fs := flag.NewFlagSet("evadmin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&env.ConfPath, "conf", "conf/evadmin.properties", "the evadmin properties file")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(stderr, "evadmin:", err)
		usage(stderr)
		return ExitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
		usage(stdout)
		if len(rest) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, cmdArgs := find(rest)
	if cmd == nil {
		fmt.Fprintf(stderr, "evadmin: unknown command %q\n", strings.Join(rest, " "))
		usage(stderr)
		return ExitUsage
	}
	err := cmd.run(env, cmdArgs)
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "evadmin %s: %s\nusage: evadmin [-conf FILE] %s %s\n", cmd.name, ue.msg, cmd.name, cmd.args)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "evadmin %s: %v\n", cmd.name, err)
		if text, _ := advice.Of(err); text != "" {
			fmt.Fprintln(stderr, text)
		}
		return ExitFail
	}
}

func find(args []string) (*command, []string) {
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == commands[i].name {
			return &commands[i], args[len(words):]
		}
	}
	return nil, nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "evadmin — Access Tokens for 3rd Party Email Services")
	fmt.Fprintln(w, "\nusage: evadmin [-conf conf/evadmin.properties] COMMAND")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %s %s\n      %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nexit status: 0 success, 1 failure, 2 usage error")
}

// config loads the properties once; problems are a failure (exit 1) with
// every one listed.
func (env *Env) config() (*taskconf.Evadmin, error) {
	if env.cfg != nil {
		return env.cfg, nil
	}
	cfg, warnings, err := taskconf.LoadEvadmin(env.ConfPath)
	if err != nil {
		return nil, fmt.Errorf("%s has problems:\n%w", env.ConfPath, err)
	}
	env.cfg = cfg
	env.log = logging.New(cfg.Log, env.Stderr)
	for _, w := range warnings {
		env.log.Warn(w)
	}
	return cfg, nil
}

// logger is the configured logger (after config).
func (env *Env) logger() *slog.Logger {
	if env.log == nil {
		return logging.New(taskconf.Log{}, env.Stderr)
	}
	return env.log
}

// open opens the token store named in the properties.
func (env *Env) open() (*tokenstore.Store, error) {
	cfg, err := env.config()
	if err != nil {
		return nil, err
	}
	return tokenstore.Open(env.Ctx, tokenstore.Options{Path: cfg.Store.Path, KeyFile: cfg.Store.KeyFile})
}

// withToken runs a command about one token: it parses the flags (the token
// NAME among them), opens the store, and calls fn.
func (env *Env) withToken(fs *flag.FlagSet, args []string, fn func(store *tokenstore.Store, name string) error) error {
	pos, err := flags(fs, args, 1)
	if err != nil {
		return err
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	return fn(store, pos[0])
}

// flags parses a subcommand's flags. The NAME may come before or after
// them ("token add NAME --type …" reads naturally); positional is how many
// positional arguments the command takes.
func flags(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	if len(pos) != positional {
		if positional == 1 && len(pos) == 0 {
			return nil, usagef("name the token")
		}
		return nil, usagef("expected %d argument(s), got %d: %s", positional, len(pos), strings.Join(pos, " "))
	}
	return pos, nil
}

// readSecret reads a secret from a file or, failing that, stdin: one line,
// surrounding blanks removed.
func readSecret(env *Env, file, what string) (string, error) {
	var data []byte
	var err error
	switch f, ok := env.Stdin.(*os.File); {
	case file != "":
		data, err = os.ReadFile(file)
	case ok && term.IsTerminal(int(f.Fd())):
		// At a terminal: prompt, and do not echo the secret.
		fmt.Fprintf(env.Stderr, "%s: ", what)
		data, err = term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
	default:
		data, err = readLine(env.Stdin)
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	s := strings.TrimSpace(string(data))
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("the %s must be one line", what)
	}
	return s, nil
}

// readLine reads up to the first newline (or EOF).
func readLine(r io.Reader) ([]byte, error) {
	var out []byte
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if buf[0] == '\n' {
				return out, nil
			}
			out = append(out, buf[0])
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(out) > 64<<10 {
			return nil, errors.New("input too long")
		}
	}
}
