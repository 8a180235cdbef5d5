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
	"time"

	"golang.org/x/term"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/logging"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
)

// Exit codes.
const (
	ExitOK    = cmdline.ExitOK
	ExitFail  = cmdline.ExitFail
	ExitUsage = cmdline.ExitUsage
)

// Env is what a command runs with: the command line's, and the properties
// once loaded.
type Env struct {
	*cmdline.Env

	cfg *taskconf.Evadmin
	log *slog.Logger
	now func() time.Time // the store's clock; nil: the real one (tests move it)
}

// Program is evadmin's command line.
var Program = &cmdline.Program{
	Name:  "evadmin",
	Title: "Access Tokens for 3rd Party Email Services",
	Conf:  "conf/evadmin.properties",
	Commands: []cmdline.Command{
		{Name: "serve", Summary: "run the web utility", Run: with(runServe)},
		{Name: "admin passwd", Args: "NAME", Summary: "create an admin or change its password (password on stdin)", Run: with(runAdminPasswd)},
		{Name: "store check", Summary: "show the store's engine, schema version and key, and whether they are sound", Run: with(runStoreCheck)},
		{Name: "store copy", Args: "--to PATH_OR_URL [--password-file F]", Summary: "copy the store into a new, empty one (SQLite to PostgreSQL and back), with the same key, and check the copy", Run: with(runStoreCopy)},
		{Name: "admin list", Args: "[--events]", Summary: "list the admin accounts (and the newest account events)", Run: with(runAdminList)},
		{Name: "admin delete", Args: "NAME", Summary: "delete an admin account (never the last one)", Run: with(runAdminDelete)},
		{Name: "admin unlock", Args: "NAME", Summary: "let an admin log in again at once after too many wrong passwords", Run: with(runAdminUnlock)},
		{Name: "token list", Args: "[--json]", Summary: "list tokens and their health", Run: with(runTokenList)},
		{Name: "token show", Args: "NAME [--json]", Summary: "show one token, its health and events", Run: with(runTokenShow)},
		{Name: "token add", Args: "NAME --type microsoft|google|generic --client-id C [--email E] [--tenant T] [--cloud global|usgov|usdod|china] [--scope S] [--auth-url U] [--token-url U] [--issuer U] [--client-secret-file F | --client-key-file F]", Summary: "add a token (secret from the file, or stdin; or a certificate or service account key from the file)", Run: with(runTokenAdd)},
		{Name: "token key", Args: "NAME [--client-key-file F] [--remove]", Summary: "replace the token's certificate (Microsoft) or service account key (Google), from the file or stdin; or remove it", Run: with(runTokenKey)},
		{Name: "token login", Args: "NAME [--device]", Summary: "get the token: sign in through the browser, or with a device code", Run: with(runTokenLogin)},
		{Name: "token paste", Args: "NAME", Summary: "store a token response (JSON on stdin: access_token, refresh_token, expires_in)", Run: with(runTokenPaste)},
		{Name: "token apponly", Args: "NAME [--force]", Summary: "get an app-only token now: client credentials (secret or certificate), or a Google service account's token for the mailbox", Run: with(runTokenApponly)},
		{Name: "token refresh", Args: "NAME", Summary: "refresh the access token now", Run: with(runTokenRefresh)},
		{Name: "token test", Args: "NAME --imap|--pop3|--smtp HOST:PORT [--security SSL|STARTTLS|NONE] [--user U] | --graph|--gmail-api URL [--read FOLDER] [--user U]", Summary: "log in to a mail server with the token, or check Graph or the Gmail API (read a folder, or may it send) without changing the mailbox", Run: with(runTokenTest)},
		{Name: "token revoke", Args: "NAME [--force]", Summary: "revoke the token (at Google too) and forget it; refused while task files use it, unless --force", Run: with(runTokenRevoke)},
		{Name: "token delete", Args: "NAME [--force]", Summary: "delete the token; refused while task files use it, unless --force", Run: with(runTokenDelete)},
		{Name: "notify test", Summary: "send a test notification through every NOTIFY_* channel (exit 1 with the reason if one fails)", Run: with(runNotifyTest)},
	},
}

// with adapts a command of this package to the command line's shape.
func with(run func(env *Env, args []string) error) func(*cmdline.Env, []string) error {
	return func(ce *cmdline.Env, args []string) error { return run(&Env{Env: ce}, args) }
}

// Run runs evadmin with args (without the program name) and returns the
// exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Program.Run(ctx, args, stdin, stdout, stderr)
}

// config loads the properties once; problems are a failure (exit 1) with
// every one listed.
func (env *Env) config() (*taskconf.Evadmin, error) {
	if env.cfg != nil {
		return env.cfg, nil
	}
	cfg, warnings, err := taskconf.LoadEvadmin(env.Conf)
	if err != nil {
		return nil, fmt.Errorf("%s has problems:\n%w", env.Conf, err)
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

// open opens the token store named in the properties; it must exist.
func (env *Env) open() (*tokenstore.Store, error) { return env.openStore(false) }

// create opens the token store, creating it when it does not exist yet,
// and says so: only serve, token add and admin passwd may.
func (env *Env) create() (*tokenstore.Store, error) { return env.openStore(true) }

func (env *Env) openStore(create bool) (*tokenstore.Store, error) {
	cfg, err := env.config()
	if err != nil {
		return nil, err
	}
	st, err := tokenstore.Open(env.Ctx, tokenstore.Options{Path: cfg.Store.Path, KeyFile: cfg.Store.KeyFile,
		PasswordFile: cfg.Store.PasswordFile, MustExist: !create, Now: env.now})
	if err != nil {
		return nil, err
	}
	for _, w := range st.DB().Warnings() {
		env.logger().Warn(w)
	}
	if st.DB().Created() {
		env.logger().Info("created a new token store", "store", cfg.Store.Path, "key_file", cfg.Store.KeyFile, "key_id", st.KeyID())
	}
	return st, nil
}

// withToken runs a command about one token: it parses the flags (the token
// NAME among them), opens the store, and calls fn.
func (env *Env) withToken(fs *flag.FlagSet, args []string, fn func(store *tokenstore.Store, name string) error) error {
	pos, err := env.Parse(fs, args, 1)
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
