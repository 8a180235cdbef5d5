package cli

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"mailtokens/internal/provider"
)

// `token refresh` is a person asking: a failed refresh exits 1 with the
// reason, even while the old access token is still valid.
func TestTokenRefreshReportsFailure(t *testing.T) {
	w := newWorld(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + l.Addr().String() + "/token"
	l.Close()
	auth, _ := w.IDP.Endpoints(w.World, provider.Microsoft)
	w.mustRun(w.World.MSSecret+"\n", "token", "add", "support", "--type", "microsoft", "--tenant", w.World.TenantID,
		"--client-id", w.World.MSClientID, "--email", w.World.MSUser, "--auth-url", auth, "--token-url", unreachable)
	at, rt, err := w.IDP.MintToken(context.Background(), w.World, provider.Microsoft, w.World.MSUser)
	if err != nil {
		t.Fatal(err)
	}
	w.mustRun(fmt.Sprintf(`{"access_token":%q,"refresh_token":%q,"expires_in":3599}`, at, rt), "token", "paste", "support")

	code, out, errs := w.run("", "token", "refresh", "support")
	if code != ExitFail || strings.Contains(out, "refreshed") {
		t.Fatalf("refresh against an unreachable token URL: exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errs, "connection refused") || !strings.Contains(errs, "could not be reached") {
		t.Fatalf("stderr does not give the reason and what it means:\n%s", errs)
	}
}
