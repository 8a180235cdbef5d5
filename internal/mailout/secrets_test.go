package mailout

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// TestNoSecretInTheLog runs batchmail at DEBUG through a send, a forced
// refresh of a token the server refused, and a refused login, and looks for
// the tokens and the client secret in everything it printed.
func TestNoSecretInTheLog(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	spoolDir := filepath.Join(t.TempDir(), "outbox")
	spool, err := OpenSpool(spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Enqueue(strings.NewReader(testMessage(r.World.MSUser, "a@x.example", "hello", "body\n"))); err != nil {
		t.Fatal(err)
	}
	// The store's access token is one the server refuses: mailconn
	// refreshes it, and the new one goes out.
	before, _ := r.Store.Get(ctx, "ms")
	r.Store.SaveGrant(ctx, "ms", tokenstore.GrantPasted, &provider.Token{AccessToken: secret.New("refused-" + before.AccessToken.Reveal()[:40]),
		RefreshToken: before.RefreshToken, ExpiresIn: 3600e9}, tokenstore.ActorCLI)
	conf := r.conf(t, spoolDir, "LOG_LEVEL = DEBUG\n")
	code, stdout, stderr := run([]string{"-conf", conf, "-once"}, "")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// A refused login: the log explains, without the token.
	r.Directory.DisableSMTPAuth(r.World.MSUser)
	spool.Enqueue(strings.NewReader(testMessage(r.World.MSUser, "b@x.example", "again", "body\n")))
	_, stdout2, stderr2 := run([]string{"-conf", conf, "-once"}, "")
	log := stdout + stderr + stdout2 + stderr2
	if !strings.Contains(log, "5.7.139") {
		t.Fatalf("the refused login is not in the log:\n%s", log)
	}
	after, _ := r.Store.Get(ctx, "ms")
	for _, s := range []secret.Secret{before.AccessToken, before.RefreshToken, after.AccessToken, after.RefreshToken, after.ClientSecret} {
		v := s.Reveal()
		if v == "" {
			t.Fatal("a secret to look for is empty: the check proves nothing")
		}
		if strings.Contains(log, v) || (len(v) > 60 && strings.Contains(log, v[20:60])) {
			t.Fatalf("a secret (%.6s…) appears in batchmail's log", v)
		}
	}
}
