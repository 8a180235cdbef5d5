package mailout

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mailtokens/internal/advice"
)

// Send hands one message over a logged-in connection, as it is; a refusal
// is a *SendError that says where and what the server said.
func TestSendOne(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	c, err := r.dialer(t)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	from := r.World.MSUser
	msg := testMessage(from, "admin@example.net", "one", "Hello.")
	if err := Send(ctx, c, from, []string{"admin@example.net"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	got := r.smtp.Received()
	if len(got) != 1 || string(got[0].Raw) != msg || got[0].To[0] != "admin@example.net" {
		t.Fatalf("received %+v", got)
	}

	// Exchange refuses a sender the mailbox may not send as, after DATA:
	// permanent, and a setting to fix. The connection stays usable.
	err = Send(ctx, c, "someone.else@contoso.example", []string{"admin@example.net"}, strings.NewReader(msg))
	var se *SendError
	if !errors.As(err, &se) || !se.Permanent || !strings.Contains(se.Reply, "SendAsDenied") {
		t.Fatalf("Send as another = %v, want a permanent SendError with SendAsDenied", err)
	}
	if _, kind := advice.Of(err); kind != advice.Misconfigured {
		t.Fatalf("advice kind %v, want misconfigured", kind)
	}
	if err := Send(ctx, c, from, []string{"admin@example.net"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("after a refusal: %v", err)
	}
}
