package cli

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/keepalive"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/tokenstore"
)

// `evadmin serve` refreshes a token that no worker refreshed for 35 days,
// so it never dies of Microsoft's 90 days of inactivity, and says so in
// the token's log.
func TestServeRefreshesIdleTokens(t *testing.T) {
	w := newWorld(t, sandboxtest.Authorized("ms", provider.Microsoft))
	st := w.OpenStore(t)
	before, err := st.Get(context.Background(), "ms")
	if err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(35 * 24 * time.Hour) }
	ctx, cancel := context.WithCancel(context.Background())
	env := &Env{Env: &cmdline.Env{Ctx: ctx, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Conf: w.conf}, now: later}
	served := make(chan error, 1)
	go func() { served <- Serve(env, nil) }()
	defer func() { cancel(); <-served }()

	deadline := time.Now().Add(20 * time.Second)
	for {
		events, err := st.Events(context.Background(), "ms", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) > 0 && events[0].Kind == tokenstore.EventKeptAlive {
			if !strings.Contains(events[0].Text, "35 days") || events[0].Actor != tokenstore.ActorServe ||
				events[1].Kind != tokenstore.EventRefreshed {
				t.Fatalf("events: %+v", events[:2])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no idle refresh within 20 s; events: %+v", events)
		}
		time.Sleep(20 * time.Millisecond) // polling the store: the only signal across processes
	}
	after, _ := st.Get(context.Background(), "ms")
	if after.AccessToken.Equal(before.AccessToken) || after.Status != tokenstore.StatusValid {
		t.Fatalf("after the idle refresh: status %s, same access token: %v", after.Status, after.AccessToken.Equal(before.AccessToken))
	}
	if _, idle := keepalive.Idle(after, later()); idle {
		t.Fatal("still idle after the refresh")
	}
}
