package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// refreshWith runs one x/oauth2 refresh.
func refreshWith(ctx context.Context, cfg *oauth2.Config, rt string) (*oauth2.Token, error) {
	return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
}

func TestConformance_Faults(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		// check says whether the client saw the right kind of failure.
		check func(t *testing.T, err error)
		// spent: whether the refresh token was used up despite the failure.
		spent bool
	}{
		{"HTTP 500 with an HTML body", Fault{Kind: FaultStatus500, Times: 1}, func(t *testing.T, err error) {
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.Response.StatusCode != 500 || re.ErrorCode != "" {
				t.Errorf("err = %v, want a RetrieveError with status 500 and no OAuth error code", err)
			}
		}, false},
		{"HTTP 503 temporarily_unavailable", Fault{Kind: FaultStatus503, Times: 1}, func(t *testing.T, err error) {
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.Response.StatusCode != 503 || re.ErrorCode != "temporarily_unavailable" || re.Response.Header.Get("Retry-After") == "" {
				t.Errorf("err = %v", err)
			}
		}, false},
		{"slow answer, client times out", Fault{Kind: FaultSlow, Delay: time.Minute, Times: 1}, func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
		}, false},
		{"truncated JSON", Fault{Kind: FaultMalformedJSON, Times: 1}, func(t *testing.T, err error) {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) || err == nil || !strings.Contains(err.Error(), "cannot parse json") {
				t.Errorf("err = %v, want a JSON parse error", err)
			}
		}, false},
		{"dropped connection", Fault{Kind: FaultDropConnection, Times: 1}, func(t *testing.T, err error) {
			var ue *url.Error
			var re *oauth2.RetrieveError
			if !errors.As(err, &ue) || errors.As(err, &re) {
				t.Errorf("err = %v, want a transport error", err)
			}
		}, false},
		{"response lost after the refresh happened", Fault{Kind: FaultLoseResponse, Times: 1}, func(t *testing.T, err error) {
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Errorf("err = %v, want a transport error", err)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newWorld(t)
			cfg := msConfig(s)
			tok := tokenFor(t, s, cfg, alice)
			s.InjectFault(tt.fault)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if tt.fault.Kind == FaultSlow {
				ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
			}
			_, err := refreshWith(ctx, cfg, tok.RefreshToken)
			cancel()
			tt.check(t, err)

			// Times: 1 — the next request goes through.
			_, err = refreshWith(context.Background(), cfg, tok.RefreshToken)
			var re *oauth2.RetrieveError
			switch {
			case tt.spent && (!errors.As(err, &re) || aadsts(re.ErrorDescription) != 70000):
				t.Errorf("retry with the spent refresh token: %v, want AADSTS70000", err)
			case !tt.spent && err != nil:
				t.Errorf("retry after the fault: %v", err)
			}
		})
	}
}

func TestConformance_FaultMatching(t *testing.T) {
	s, _ := newWorld(t)
	// A path fault hits only its endpoint, until cleared.
	s.InjectFault(Fault{Kind: FaultStatus500, Path: "/devicecode"})
	for range 2 {
		resp, err := http.PostForm(s.URL()+"/"+contosoID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {msPublicID}, "scope": {exoIMAP}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Errorf("devicecode: HTTP %d, want 500", resp.StatusCode)
		}
	}
	tok := tokenFor(t, s, msConfig(s), alice) // the token endpoint is untouched
	s.ClearFaults()
	if r := msDeviceCode(t, s, contosoID, msPublicID); r.status != 200 {
		t.Errorf("after ClearFaults: %s", r.raw)
	}
	// An empty Path hits both providers' token endpoints, and nothing else.
	s.InjectFault(Fault{Kind: FaultStatus500})
	if _, err := refreshWith(context.Background(), msConfig(s), tok.RefreshToken); err == nil {
		t.Error("Microsoft token endpoint not faulted")
	}
	resp, err := http.PostForm(s.URL()+"/google/token", googleForm("grant_type", "refresh_token", "refresh_token", "x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("Google token endpoint: HTTP %d, want 500", resp.StatusCode)
	}
	if r := msDeviceCode(t, s, contosoID, msPublicID); r.status != 200 {
		t.Errorf("devicecode faulted by an empty-path fault: %s", r.raw)
	}
	s.ClearFaults()
}
