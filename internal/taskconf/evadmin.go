package taskconf

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Evadmin is evadmin's configuration.
type Evadmin struct {
	Store
	Log
	Listen      string // LISTEN
	PublicURL   string // PUBLIC_URL, without a trailing slash
	TLSCertFile string
	TLSKeyFile  string
	// MetricsTokenFile holds the bearer token Prometheus sends for
	// /metrics; empty = /metrics needs a logged-in session.
	MetricsTokenFile string
	// TrustedProxies (TRUSTED_PROXIES) are the reverse proxies whose
	// X-Forwarded-For names the client, for login throttling.
	TrustedProxies []netip.Prefix
	// TLSCAFile holds PEM certificates of private CAs that the Test button
	// trusts besides the system's (TLS_CA_FILE): a worker's server signed
	// by one passes the test as it passes the worker's login.
	TLSCAFile string
	// Notify is how admins are told about tokens that need a person.
	Notify Notify
}

// RedirectURL is the OAuth2 redirect URI to register at the providers.
func (c *Evadmin) RedirectURL() string { return c.PublicURL + "/oauth2/callback" }

// TLS reports whether evadmin serves HTTPS itself.
func (c *Evadmin) TLS() bool { return c.TLSCertFile != "" }

// LoadEvadmin reads evadmin's properties. warnings are worth logging.
func LoadEvadmin(path string) (cfg *Evadmin, warnings []string, err error) {
	f, err := Load(path)
	if err != nil {
		return nil, nil, err
	}
	cfg = ReadEvadmin(f)
	return cfg, f.Warnings, f.Err()
}

// ReadEvadmin reads evadmin's keys from a loaded file; problems go to f.
func ReadEvadmin(f *File) *Evadmin {
	c := &Evadmin{Store: readStore(f), Log: readLog(f)}
	c.Listen = f.String("LISTEN", "127.0.0.1:8080")
	host, _, listenErr := net.SplitHostPort(c.Listen)
	if listenErr != nil {
		f.problem("LISTEN", "%q is not host:port (e.g. 127.0.0.1:8080)", c.Listen)
	}
	c.PublicURL = strings.TrimRight(f.String("PUBLIC_URL", "http://localhost:8080"), "/")
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		f.problem("PUBLIC_URL", "%q is not an absolute http(s) URL like https://mailtokens.contoso.com", c.PublicURL)
	}
	c.TLSCertFile = f.String("TLS_CERT_FILE", "")
	c.TLSKeyFile = f.String("TLS_KEY_FILE", "")
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		key := "TLS_KEY_FILE"
		if c.TLSCertFile == "" {
			key = "TLS_CERT_FILE"
		}
		f.problem(key, "TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither")
	}
	c.TLSCAFile = f.String("TLS_CA_FILE", "")
	c.MetricsTokenFile = f.String("METRICS_TOKEN_FILE", "")
	c.TrustedProxies = readPrefixes(f, "TRUSTED_PROXIES")
	c.Notify = readNotify(f)
	if listenErr == nil && host != "" && !isLoopback(host) && c.TLSCertFile == "" {
		f.warn("LISTEN", "listens beyond this machine without TLS: passwords and session cookies cross the network in clear unless a TLS proxy is in front")
	}
	if u != nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		f.warn("PUBLIC_URL", "Microsoft and Google accept plain http redirect URIs only for localhost: use https")
	}
	return c
}

// readPrefixes reads a list of addresses and CIDR ranges, separated by
// commas or blanks; a single address is a range of one.
func readPrefixes(f *File, key string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range strings.FieldsFunc(f.String(key, ""), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil || a.Zone() != "" {
				f.problem(key, "%q is not an address or CIDR range (e.g. 10.0.0.5 or 10.0.0.0/24)", item)
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	return out
}
