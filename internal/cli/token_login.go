package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// loginTimeout bounds how long `token login` waits for the sign-in.
const loginTimeout = 10 * time.Minute

// runTokenLogin gets a token: with --device, the device-code flow in the
// terminal (as the console tools of old did); otherwise the browser
// redirect flow, taking the provider's answer either at LISTEN (when
// evadmin serve is not running there) or pasted from the browser's address
// bar.
func runTokenLogin(env *Env, args []string) error {
	fs := flag.NewFlagSet("token login", flag.ContinueOnError)
	device := fs.Bool("device", false, "sign in with a device code")
	return env.withToken(fs, args, func(store *tokenstore.Store, name string) error {
		return login(env, store, name, *device)
	})
}

func login(env *Env, store *tokenstore.Store, name string, device bool) error {
	cfg, err := env.config()
	if err != nil {
		return err
	}
	t, err := store.Get(env.Ctx, name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(env.Ctx, loginTimeout)
	defer cancel()
	var tok *provider.Token
	grant := tokenstore.GrantAuthorizationCode
	if device {
		grant = tokenstore.GrantDeviceCode
		tok, err = deviceLogin(ctx, env, t, store.ProviderConfig(t, ""))
	} else {
		redirect := cfg.RedirectURL()
		tok, err = browserLogin(ctx, env, t, store.ProviderConfig(t, redirect), cfg.Listen, redirect)
	}
	if err != nil && env.Ctx.Err() != nil {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	saved, err := store.SaveGrant(env.Ctx, t.Name, grant, tok, tokenstore.ActorCLI)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "token %s authorized; the access token is valid until %s\n", saved.Name, saved.Expiry.Local().Format("2006-01-02 15:04"))
	if !saved.HasRefreshToken && !grant.AppOnly() {
		fmt.Fprintln(env.Stdout, "warning: the provider sent no refresh token; the token cannot renew itself")
	}
	return nil
}

func deviceLogin(ctx context.Context, env *Env, t *tokenstore.Token, pc provider.Config) (*provider.Token, error) {
	da, err := pc.StartDevice(ctx)
	if err != nil {
		return nil, err
	}
	who := "the mailbox account"
	if t.Email != "" {
		who = t.Email
	}
	fmt.Fprintf(env.Stdout, "To sign in, use a web browser to open the page %s and enter the code %s to authenticate.\n", da.VerificationURI, da.UserCode)
	fmt.Fprintf(env.Stdout, "Sign in as %s. Waiting until %s…\n", who, da.Expiry.Local().Format("15:04:05"))
	return pc.PollDevice(ctx, da)
}

// callbackResult is the provider's redirect, however it reached us.
// errInterrupted ends a sign-in stopped with Ctrl-C (or SIGTERM).
var errInterrupted = errors.New("interrupted before the sign-in finished; nothing was changed")

type callbackResult struct {
	query url.Values
	err   error
}

func browserLogin(ctx context.Context, env *Env, t *tokenstore.Token, pc provider.Config, listen, redirect string) (*provider.Token, error) {
	req, err := pc.StartAuth()
	if err != nil {
		return nil, err
	}
	results := make(chan callbackResult, 2)
	listening := serveCallback(ctx, listen, req.State, results)
	fmt.Fprintf(env.Stdout, "Open this address in a browser and sign in%s:\n\n  %s\n\n", asWho(t), req.URL)
	if listening {
		fmt.Fprintf(env.Stdout, "Waiting for the browser to come back to %s …\n", redirect)
		fmt.Fprintln(env.Stdout, "(If it cannot reach this machine, paste here the address the browser ends on.)")
	} else {
		fmt.Fprintf(env.Stdout, "%s is busy (evadmin serve?), so after signing in the browser shows an error page or the web utility.\n", listen)
		fmt.Fprintln(env.Stdout, "Paste here the address the browser ends on (it contains code= and state=):")
	}
	go readPastedCallback(env, results)

	var res callbackResult
	select {
	case res = <-results:
	case <-ctx.Done():
		return nil, fmt.Errorf("no sign-in within %s", loginTimeout)
	}
	if res.err != nil {
		return nil, res.err
	}
	q := res.query
	if q.Get("state") != req.State {
		return nil, errors.New("the address does not belong to this sign-in (state differs): start again")
	}
	if code := q.Get("error"); code != "" {
		return nil, pc.Refused(code, q.Get("error_description"))
	}
	if q.Get("code") == "" {
		return nil, errors.New("the address has no code= (did the sign-in finish?)")
	}
	return pc.Exchange(ctx, q.Get("code"), req.Proof)
}

func asWho(t *tokenstore.Token) string {
	if t.Email == "" {
		return ""
	}
	return " as " + t.Email
}

// serveCallback listens on listen for the provider's redirect; false when
// the address is taken.
func serveCallback(ctx context.Context, listen, state string, results chan<- callbackResult) bool {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return false
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth2/callback" || r.URL.Query().Get("state") != state {
			http.Error(w, "evadmin token login is waiting for the sign-in; this is not it", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		msg := "Signed in. You can close this window and go back to the terminal."
		if e := r.URL.Query().Get("error"); e != "" {
			msg = "The provider refused: " + e + ". See the terminal."
		}
		fmt.Fprintf(w, "<!doctype html><title>evadmin</title><p>%s</p>", html.EscapeString(msg))
		results <- callbackResult{query: r.URL.Query()}
	})
	go srv.Serve(l)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return true
}

// readPastedCallback reads lines from stdin until one is a URL with a
// query (or stdin ends).
func readPastedCallback(env *Env, results chan<- callbackResult) {
	sc := bufio.NewScanner(env.Stdin)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		u, err := url.Parse(line)
		if err != nil || u.RawQuery == "" {
			fmt.Fprintln(env.Stderr, "that is not the address with code= and state=; paste the whole address from the browser's address bar")
			continue
		}
		results <- callbackResult{query: u.Query()}
		return
	}
}
