package graph_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"mailtokens/internal/graph"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/tokenstore"
)

// TestFourAtATime: Graph answers a fifth concurrent request for one
// mailbox 429. Ten sends at once, while the sandbox holds every request
// it admits, get four in flight and the rest wait in the client: when the
// four are let go, all ten are sent and none was throttled.
func TestFourAtATime(t *testing.T) {
	e := sandboxtest.New(t, sandboxtest.Graph(),
		sandboxtest.AuthorizedFor("graph", provider.Microsoft, provider.MicrosoftGraphSendScope))
	user := e.World.MSUser
	c := &graph.Client{Base: e.GraphURL + "/v1.0", HTTP: graph.NewHTTPClient(nil),
		Tokens: e.Store.Source("graph", tokenstore.ActorBatchmail), Mailbox: user}
	release := e.Graph.Hold()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		msg := fmt.Appendf(nil, "From: %s\r\nTo: a@example.net\r\nSubject: %d\r\n\r\nx\r\n", user, i)
		wg.Go(func() { errs <- c.SendMIME(context.Background(), bytes.NewReader(msg), int64(len(msg))) })
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.Graph.InFlight(e.World.MSClientID, user) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight, want 4", e.Graph.InFlight(e.World.MSClientID, user))
		}
		time.Sleep(5 * time.Millisecond)
	}
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a send failed: %v", err)
		}
	}
	if n := len(e.Graph.Sent()); n != 10 {
		t.Fatalf("%d sent, want 10", n)
	}
}
