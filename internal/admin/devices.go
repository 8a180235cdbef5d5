package admin

import (
	"context"
	"sync"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// deviceFlow is a device-code sign-in in progress: the code shown to the
// admin, and the background poll's outcome.
type deviceFlow struct {
	UserCode, VerificationURI string
	Expiry                    time.Time

	cancel context.CancelFunc // stops the background poll

	mu     sync.Mutex
	state  string // "pending", "done", "failed"
	result string // for failed: the explanation
}

func (f *deviceFlow) status() (state, result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.result
}

func (f *deviceFlow) finish(state, result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state, f.result = state, result
}

// deviceFlows holds one flow per token.
type deviceFlows struct {
	mu sync.Mutex
	m  map[int64]*deviceFlow
}

func newDeviceFlows() *deviceFlows { return &deviceFlows{m: map[int64]*deviceFlow{}} }

func (d *deviceFlows) get(id int64) *deviceFlow {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[id]
}

func (d *deviceFlows) set(id int64, f *deviceFlow) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[id] = f
}

// poll waits in the background for the admin to finish signing in at the
// provider, then saves the token. It stops when the code expires, when
// flow ends (the admin cancelled, or the server closes).
func (s *Server) poll(flow context.Context, f *deviceFlow, cfg provider.Config, da *provider.DeviceAuth, name string, who tokenstore.Actor) {
	defer f.cancel() // the flow's context is done with
	ctx, cancel := context.WithDeadline(flow, da.Expiry)
	defer cancel()
	tok, err := cfg.PollDevice(ctx, da)
	if err != nil {
		if flow.Err() != nil { // cancelled, or evadmin stopping: not a failed sign-in
			f.finish("failed", "The device sign-in was cancelled.")
			return
		}
		msg := advice.Explain(err)
		if ctx.Err() != nil {
			msg = "The code expired before the sign-in was finished. Start the device sign-in again."
		}
		s.log.Warn("device sign-in failed", "token", name, "err", err)
		s.recordSignInFailure(ctx, name, who, err)
		f.finish("failed", msg)
		return
	}
	if _, err := s.store.SaveGrant(context.WithoutCancel(ctx), name, tokenstore.GrantDeviceCode, tok, who); err != nil {
		s.log.Error("save device token", "token", name, "err", err)
		f.finish("failed", "The token could not be saved: "+err.Error())
		return
	}
	s.log.Info("token authorized", "token", name, "grant", tokenstore.GrantDeviceCode)
	f.finish("done", "")
}
