package idp

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func msDeviceCode(t *testing.T, s *Server, tenant, clientID string) reply {
	t.Helper()
	r := post(t, s.URL()+"/"+tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {exoIMAP + " offline_access"}})
	if r.status != 200 {
		t.Fatalf("devicecode: %s", r.raw)
	}
	return r
}

func TestConformance_MSDeviceCodeFields(t *testing.T) {
	s, _ := newWorld(t)
	r := msDeviceCode(t, s, contosoID, msPublicID)
	userCode := r.str("user_code")
	if !regexp.MustCompile(`^[A-Z0-9]{9}$`).MatchString(userCode) {
		t.Errorf("user_code = %q", userCode)
	}
	if len(r.str("device_code")) < 100 {
		t.Errorf("device_code = %q", r.str("device_code"))
	}
	wantURI := s.URL() + "/devicelogin"
	if r.str("verification_uri") != wantURI || r.body["expires_in"] != float64(900) || r.body["interval"] != float64(testInterval) {
		t.Errorf("response = %s", r.raw)
	}
	wantMsg := "To sign in, use a web browser to open the page " + wantURI + " and enter the code " + userCode + " to authenticate."
	if r.str("message") != wantMsg {
		t.Errorf("message = %q", r.str("message"))
	}
	s.SetDeviceInterval(5)
	if r := msDeviceCode(t, s, contosoID, msPublicID); r.body["interval"] != float64(5) {
		t.Errorf("interval after SetDeviceInterval(5) = %v", r.body["interval"])
	}
	// Scope errors come back as JSON from the devicecode endpoint.
	bad := post(t, s.URL()+"/"+contosoID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {msPublicID}, "scope": {exoIMAP + " https://graph.microsoft.com/User.Read"}})
	checkMSError(t, bad, 400, "invalid_scope", 28000)
}

func TestConformance_MSDevicePolling(t *testing.T) {
	s, clock := newWorld(t)
	dc := msDeviceCode(t, s, contosoID, msPublicID)
	poll := func() reply {
		return post(t, msTokenURL(s, contosoID), url.Values{"grant_type": {deviceGrant}, "client_id": {msPublicID}, "device_code": {dc.str("device_code")}})
	}
	checkMSError(t, poll(), 400, "authorization_pending", 70016)
	// Polling again before the interval has passed: slow_down.
	checkMSError(t, poll(), 400, "slow_down", 70016)
	clock.Advance(testInterval * time.Second)
	checkMSError(t, poll(), 400, "authorization_pending", 70016)

	if err := s.ApproveDevice(context.Background(), dc.str("user_code"), alice, password); err != nil {
		t.Fatal(err)
	}
	clock.Advance(testInterval * time.Second)
	r := poll()
	if r.status != 200 || r.str("access_token") == "" || r.str("refresh_token") == "" || r.str("scope") != exoIMAP {
		t.Fatalf("poll after approval: %s", r.raw)
	}
	if in := s.Introspect(r.str("access_token")); in.Username != alice {
		t.Errorf("introspection = %+v", in)
	}
	clock.Advance(testInterval * time.Second)
	checkMSError(t, poll(), 400, "invalid_grant", 70000)
	if n := s.TokenRequests(deviceGrant); n != 5 {
		t.Errorf("TokenRequests(device_code) = %d, want 5", n)
	}
}

func TestConformance_MSDeviceExpired(t *testing.T) {
	s, clock := newWorld(t)
	dc := msDeviceCode(t, s, contosoID, msPublicID)
	clock.Advance(900 * time.Second)
	r := post(t, msTokenURL(s, contosoID), url.Values{"grant_type": {deviceGrant}, "client_id": {msPublicID}, "device_code": {dc.str("device_code")}})
	checkMSError(t, r, 400, "expired_token", 70020)
	if err := s.ApproveDevice(context.Background(), dc.str("user_code"), alice, password); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("approving an expired code: %v", err)
	}
}

func TestConformance_MSDeviceDeclined(t *testing.T) {
	s, _ := newWorld(t)
	dc := msDeviceCode(t, s, contosoID, msPublicID)
	if err := s.DeclineDevice(context.Background(), dc.str("user_code"), alice, password); err != nil {
		t.Fatal(err)
	}
	r := post(t, msTokenURL(s, contosoID), url.Values{"grant_type": {deviceGrant}, "client_id": {msPublicID}, "device_code": {dc.str("device_code")}})
	checkMSError(t, r, 400, "authorization_declined", 70000)
}

func TestConformance_MSDevicePublicClient7000218(t *testing.T) {
	s, _ := newWorld(t)
	dc := msDeviceCode(t, s, contosoID, msWebID) // no "Allow public client flows"
	if err := s.ApproveDevice(context.Background(), dc.str("user_code"), alice, password); err != nil {
		t.Fatal(err)
	}
	f := url.Values{"grant_type": {deviceGrant}, "client_id": {msWebID}, "device_code": {dc.str("device_code")}}
	checkMSError(t, post(t, msTokenURL(s, contosoID), f), 401, "invalid_client", 7000218)
	// With the secret, a confidential client may finish the device flow.
	f.Set("client_secret", msSecret)
	if r := post(t, msTokenURL(s, contosoID), f); r.status != 200 {
		t.Errorf("with secret: %s", r.raw)
	}
}

func TestConformance_MSDeviceSignInRules(t *testing.T) {
	s, _ := newWorld(t)
	ctx := context.Background()
	dc := msDeviceCode(t, s, contosoID, msPublicID)
	if err := s.ApproveDevice(ctx, dc.str("user_code"), alice, "wrong"); err == nil || aadsts(err.Error()) != 50126 {
		t.Errorf("wrong password: %v", err)
	}
	if err := s.ApproveDevice(ctx, dc.str("user_code"), bob, password); err == nil || aadsts(err.Error()) != 50020 {
		t.Errorf("user of another tenant: %v", err)
	}
	if err := s.ApproveDevice(ctx, "BOGUSCODE", alice, password); err == nil || !strings.Contains(err.Error(), "didn't work") {
		t.Errorf("unknown code: %v", err)
	}
	// A tenant without user consent blocks the approval; the code stays
	// pending.
	multi := msDeviceCode(t, s, "organizations", msMultiID)
	if err := s.ApproveDevice(ctx, multi.str("user_code"), bob, password); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Errorf("consent disabled: %v", err)
	}
	// User codes are matched regardless of case.
	if err := s.ApproveDevice(ctx, strings.ToLower(dc.str("user_code")), alice, password); err != nil {
		t.Errorf("lowercase user code: %v", err)
	}
}

// x/oauth2's own device flow client completes against the sandbox. It
// polls on the real clock, so this test uses a real-time server with a
// 1-second interval.
func TestConformance_MSDeviceXOAuth2(t *testing.T) {
	s := NewTest(t, Options{})
	populate(s)
	cfg := &oauth2.Config{ClientID: msPublicID, Endpoint: msEndpoint(s, contosoDomain), Scopes: []string{exoIMAP, "offline_access"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURI != s.URL()+"/devicelogin" || da.Interval != testInterval {
		t.Errorf("device auth = %+v", da)
	}
	if err := s.ApproveDevice(ctx, da.UserCode, alice, password); err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || !s.Introspect(tok.AccessToken).Active {
		t.Errorf("token = %+v", tok)
	}
}

func TestConformance_GoogleDeviceRefusesMailScope(t *testing.T) {
	s, _ := newWorld(t)
	for _, scope := range []string{gmailScope, "email " + gmailScope, "https://www.googleapis.com/auth/gmail.readonly", "nonsense"} {
		r := post(t, s.URL()+"/google/device/code", url.Values{"client_id": {gTVID}, "scope": {scope}})
		if r.status != 400 || r.raw != `{"error":"invalid_scope"}` {
			t.Errorf("scope %q: HTTP %d %s, want 400 {\"error\":\"invalid_scope\"}", scope, r.status, r.raw)
		}
	}
	// x/oauth2 reports it as an error the product can explain.
	cfg := googleConfig(s, gTVID)
	if _, err := cfg.DeviceAuth(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid_scope") {
		t.Errorf("x/oauth2 DeviceAuth with the Gmail scope: %v", err)
	}
}

func TestConformance_GoogleDeviceFlow(t *testing.T) {
	s, clock := newWorld(t)
	r := post(t, s.URL()+"/google/device/code", url.Values{"client_id": {gTVID}, "scope": {"email profile"}})
	if r.status != 200 {
		t.Fatal(r.raw)
	}
	if _, has := r.body["verification_uri"]; has || r.str("verification_url") != s.URL()+"/devicelogin" {
		t.Errorf("Google spells it verification_url: %s", r.raw)
	}
	if r.body["expires_in"] != float64(1800) || r.body["interval"] != float64(testInterval) || !regexp.MustCompile(`^[A-Z]{4}-[A-Z]{4}$`).MatchString(r.str("user_code")) {
		t.Errorf("response = %s", r.raw)
	}
	poll := func(deviceCode string) reply {
		return post(t, googleTokenURL(s), url.Values{"grant_type": {deviceGrant}, "client_id": {gTVID}, "client_secret": {gSecret}, "device_code": {deviceCode}})
	}
	dc := r.str("device_code")
	checkGoogleError(t, poll(dc), 428, "authorization_pending", "Precondition Required")
	checkGoogleError(t, poll(dc), 403, "slow_down", "Forbidden")
	if err := s.ApproveDevice(context.Background(), r.str("user_code"), carol, password); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	tok := poll(dc)
	if tok.status != 200 || tok.str("refresh_token") == "" || tok.str("scope") != "https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile" {
		t.Errorf("token = %s", tok.raw)
	}

	declined := post(t, s.URL()+"/google/device/code", url.Values{"client_id": {gTVID}, "scope": {"openid"}})
	if err := s.DeclineDevice(context.Background(), declined.str("user_code"), carol, password); err != nil {
		t.Fatal(err)
	}
	checkGoogleError(t, poll(declined.str("device_code")), 403, "access_denied", "Forbidden")

	expired := post(t, s.URL()+"/google/device/code", url.Values{"client_id": {gTVID}, "scope": {"openid"}})
	clock.Advance(1800 * time.Second)
	checkGoogleError(t, poll(expired.str("device_code")), 403, "expired_token", "Expired")
}
