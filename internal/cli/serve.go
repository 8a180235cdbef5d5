package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"mailtokens/internal/admin"
	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/keepalive"
	"mailtokens/internal/mailconn"
)

func runServe(env *Env, args []string) error {
	if _, err := env.Parse(flag.NewFlagSet("serve", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	return Serve(env, nil)
}

// Serve runs the web utility until env.Ctx ends; a SIGHUP is logged and
// changes nothing. ready, if not nil, is
// called with the listening address once requests are accepted.
func Serve(env *Env, ready func(addr string)) error {
	cfg, err := env.config()
	if err != nil {
		return err
	}
	log := env.logger()
	store, err := env.create()
	if err != nil {
		return err
	}
	defer store.Close()

	acfg := admin.Config{PublicURL: cfg.PublicURL, Secure: cfg.TLS() || strings.HasPrefix(cfg.PublicURL, "https:"),
		Logger: log, Tester: mailconn.Tester{}, TrustedProxies: cfg.TrustedProxies}
	if cfg.TLSCAFile != "" {
		roots, err := mailconn.RootsFromFile(cfg.TLSCAFile, true)
		if err != nil {
			return fmt.Errorf("TLS_CA_FILE: %w", err)
		}
		acfg.Tester = mailconn.Tester{RootCAs: roots}
	}
	if n, err := accounts.New(store.DB(), nil).AdminCount(env.Ctx); err != nil {
		return err
	} else if n == 0 {
		acfg.SetupToken = randomToken()
	}
	if cfg.MetricsTokenFile != "" {
		data, err := os.ReadFile(cfg.MetricsTokenFile)
		if err != nil {
			return fmt.Errorf("METRICS_TOKEN_FILE: %w", err)
		}
		acfg.MetricsToken = strings.TrimSpace(string(data))
	}
	stopNotify, err := startNotifier(env.Ctx, cfg, store, log)
	if err != nil {
		return err
	}
	defer stopNotify()
	web, err := admin.New(acfg, store)
	if err != nil {
		return err
	}
	defer web.Close()

	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (LISTEN): %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           web.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // the Test button may wait a minute for a mail server
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	log.Info("evadmin listening", "addr", scheme+"://"+l.Addr().String(), "public_url", cfg.PublicURL,
		"redirect_uri", web.RedirectURI(), "store", cfg.Store.Path)
	if acfg.SetupToken != "" {
		fmt.Fprintf(env.Stderr, "\nNo admin account exists yet. Create the first one at\n\n    %s/setup?token=%s\n\n(the link works once), or run: evadmin admin passwd NAME\n\n",
			cfg.PublicURL, acfg.SetupToken)
	}
	// Tokens no worker uses must not die of inactivity.
	kept := make(chan struct{})
	keepCtx, stopKeeping := context.WithCancel(env.Ctx)
	defer func() { stopKeeping(); <-kept }()
	go func() { defer close(kept); keepalive.Run(keepCtx, store, log) }()

	errc := make(chan error, 1)
	go func() {
		if cfg.TLS() {
			errc <- srv.ServeTLS(l, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			errc <- srv.Serve(l)
		}
	}()
	if ready != nil {
		ready(l.Addr().String())
	}
	for stopping := false; !stopping; {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-env.Hangups:
			// The settings make the listener, the store and the pages:
			// a restart applies them without pretending to reload.
			log.Warn("SIGHUP: evadmin reads its file only at start; to apply a change: systemctl restart evadmin")
		case <-env.Ctx.Done():
			stopping = true
		}
	}
	log.Info("evadmin stopping")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
