package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"mailtokens/internal/advice"
)

// DeviceAuth is a started device-code sign-in: show UserCode and
// VerificationURI to a person, then Poll.
type DeviceAuth struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	Expiry                  time.Time
	Interval                time.Duration
	raw                     *oauth2.DeviceAuthResponse
}

// Message is the one line to show: where to go and what to type.
func (d *DeviceAuth) Message() string {
	return fmt.Sprintf("To sign in, open %s in a browser and enter the code %s", d.VerificationURI, d.UserCode)
}

// DeviceFlowRefused is why Google's mail scope cannot use the device flow.
const DeviceFlowRefused = "Google does not allow the Gmail scope (https://mail.google.com/) with the device-code sign-in: use Get Email Token (the browser redirect sign-in) instead"

// StartDevice asks the provider for a device code. It refuses Google's mail
// scope up front, with the reason, rather than showing Google's bare
// invalid_scope.
func (c Config) StartDevice(ctx context.Context) (*DeviceAuth, error) {
	scopes := c.Scopes()
	if c.Type == Google {
		for _, s := range scopes {
			if s == GoogleMailScope {
				return nil, &Error{Op: "device code", Provider: c.Type, Kind: advice.Misconfigured,
					Code: "invalid_scope", Description: DeviceFlowRefused}
			}
		}
	}
	if c.Endpoints().Device == "" {
		return nil, &Error{Op: "device code", Provider: c.Type, Kind: advice.Misconfigured, Err: errNoEndpoint,
			Description: "this provider has no device authorization URL"}
	}
	var da *oauth2.DeviceAuthResponse
	var err error
	if c.Type == Generic {
		da, err = c.deviceAuth(ctx, scopes)
	} else {
		da, err = c.oauth2Config(scopes).DeviceAuth(c.ctx(ctx))
	}
	if err != nil {
		return nil, c.wrap("device code", err)
	}
	d := &DeviceAuth{
		UserCode:                da.UserCode,
		VerificationURI:         da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete,
		Expiry:                  da.Expiry,
		Interval:                time.Duration(da.Interval) * time.Second,
		raw:                     da,
	}
	return d, nil
}

// PollDevice waits until the person has signed in (or declined, or the code
// expired, or ctx ended), polling at the interval the provider asked for and
// slowing down when told to.
func (c Config) PollDevice(ctx context.Context, d *DeviceAuth) (*Token, error) {
	// The device flow is a public-client flow: Microsoft refuses a secret
	// for apps without one but accepts it for confidential apps, so send it
	// when we have it.
	t, err := c.oauth2Config(c.Scopes()).DeviceAccessToken(c.ctx(ctx), d.raw)
	if err != nil {
		return nil, c.wrap("device sign-in", err)
	}
	out, err := c.fromOAuth2("device sign-in", t, "")
	if err != nil {
		return nil, err
	}
	out.Account = c.accountOf(ctx, t)
	return out, nil
}

// deviceAuth is the device authorization request (RFC 8628 §3.1) with
// client authentication: a confidential client must authenticate there as
// at the token endpoint (RFC 6749 §3.2.1), and standards servers refuse it
// without (x/oauth2's DeviceAuth sends the client ID alone, which
// Microsoft and Google accept, so they keep it).
func (c Config) deviceAuth(ctx context.Context, scopes []string) (*oauth2.DeviceAuthResponse, error) {
	form := url.Values{}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoints().Device, nil)
	if err != nil {
		return nil, err
	}
	c.clientAuth().apply(req, form)
	req.Body = io.NopCloser(strings.NewReader(form.Encode()))
	req.ContentLength = int64(len(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	sent := time.Now()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, &oauth2.RetrieveError{Response: resp, Body: body}
	}
	var da oauth2.DeviceAuthResponse
	if err := json.Unmarshal(body, &da); err != nil {
		return nil, fmt.Errorf("the device authorization answer is not JSON: %w", err)
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, errors.New("the device authorization answer lacks device_code, user_code or verification_uri")
	}
	if !da.Expiry.IsZero() {
		da.Expiry = da.Expiry.Add(-time.Since(sent))
	}
	return &da, nil
}
