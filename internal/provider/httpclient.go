package provider

import (
	"context"
	"net"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// Timeouts for talking to a provider. A token request normally takes well
// under a second; these only stop a dead provider from hanging a worker.
const (
	DialTimeout    = 10 * time.Second
	RequestTimeout = 30 * time.Second
)

// DefaultHTTPClient is used when a Config has no HTTPClient.
var DefaultHTTPClient = NewHTTPClient(RequestTimeout)

// NewHTTPClient returns a client whose every request, body included, ends
// within timeout.
func NewHTTPClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: min(DialTimeout, timeout), KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   min(10*time.Second, timeout),
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		// A token endpoint has no business redirecting: following one
		// would resend the form (client secret included) elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (c Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return DefaultHTTPClient
}

// ctx hands our HTTP client to x/oauth2. With certificate credentials it
// signs a client assertion into every token request (assertion.go).
func (c Config) ctx(ctx context.Context) context.Context {
	client := c.httpClient()
	if c.ClientAuth == ClientAuthPrivateKeyJWT {
		client = c.assertionClient(client)
	}
	return context.WithValue(ctx, oauth2.HTTPClient, client)
}
