package oauthsasl

import (
	"slices"
	"strconv"
	"strings"
)

// OAUTHBEARERParams is what an OAUTHBEARER initial response carries.
type OAUTHBEARERParams struct {
	// Authzid is the a= value: the user to log in as, which for a shared
	// mailbox differs from the token's account. Empty if not given.
	Authzid string
	// Host and Port are where the client thinks it connected; empty and 0
	// if not given.
	Host string
	Port int
	// Token is the bearer token from auth=.
	Token string
	// Extra holds key/value pairs other than host, port and auth, which RFC
	// 7628 allows; nil if there are none.
	Extra map[string]string
}

// Encode returns the initial response for p (RFC 7628 section 3.1):
// "n,a=<authzid>,\x01host=<host>\x01port=<port>\x01auth=Bearer <token>\x01\x01",
// with a= left out when Authzid is empty ("n,,"), host= and port= left out
// when empty or 0, and Extra pairs in key order before auth=. It does not
// check p; the client's Start does.
func (p OAUTHBEARERParams) Encode() []byte {
	var b strings.Builder
	b.WriteString("n,")
	if p.Authzid != "" {
		b.WriteString("a=")
		b.WriteString(escapeSASLName(p.Authzid))
	}
	b.WriteString(",\x01")
	if p.Host != "" {
		b.WriteString("host=" + p.Host + "\x01")
	}
	if p.Port != 0 {
		b.WriteString("port=" + strconv.Itoa(p.Port) + "\x01")
	}
	keys := make([]string, 0, len(p.Extra))
	for k := range p.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(k + "=" + p.Extra[k] + "\x01")
	}
	b.WriteString("auth=Bearer " + p.Token + "\x01\x01")
	return []byte(b.String())
}

// OAUTHBEARERResponse returns the OAUTHBEARER initial response, unencoded;
// see OAUTHBEARERParams.Encode.
func OAUTHBEARERResponse(authzid, host string, port int, token string) []byte {
	return OAUTHBEARERParams{Authzid: authzid, Host: host, Port: port, Token: token}.Encode()
}

// ParseOAUTHBEARER decodes an OAUTHBEARER initial response. The GS2 flag
// must be "n" or "y" (OAUTHBEARER has no channel binding), auth= is required
// and must hold a Bearer token, port= must be a number up to 65535, and a key
// may not appear twice.
func ParseOAUTHBEARER(ir []byte) (OAUTHBEARERParams, error) {
	var p OAUTHBEARERParams
	// gs2-header is flag "," [a=authzid] ","; a saslname cannot hold a raw
	// comma, so the first two commas end it.
	flag, rest, ok1 := strings.Cut(string(ir), ",")
	authzid, rest, ok2 := strings.Cut(rest, ",")
	if !ok1 || !ok2 {
		return p, malformed(OAUTHBEARER, "no GS2 header")
	}
	if flag != "n" && flag != "y" {
		return p, malformed(OAUTHBEARER, `GS2 flag is not "n" or "y"`)
	}
	if authzid != "" {
		name, ok := strings.CutPrefix(authzid, "a=")
		if !ok {
			return p, malformed(OAUTHBEARER, "authzid does not start with a=")
		}
		var err error
		if p.Authzid, err = unescapeSASLName(name); err != nil {
			return p, err
		}
	}
	// After the header: kvsep *(kvpair kvsep) kvsep.
	rest, ok1 = strings.CutPrefix(rest, "\x01")
	rest, ok2 = strings.CutSuffix(rest, "\x01")
	if !ok1 || !ok2 {
		return p, malformed(OAUTHBEARER, `key/value pairs not framed by "\x01"`)
	}
	if rest == "" {
		return p, malformed(OAUTHBEARER, "no auth=")
	}
	pairs, ok := strings.CutSuffix(rest, "\x01")
	if !ok {
		return p, malformed(OAUTHBEARER, `does not end in "\x01\x01"`)
	}
	seen := map[string]bool{}
	for _, pair := range strings.Split(pairs, "\x01") {
		key, value, ok := strings.Cut(pair, "=")
		if !ok || !validKey(key) {
			return p, malformed(OAUTHBEARER, "key/value pair without a key")
		}
		if seen[key] {
			return p, malformed(OAUTHBEARER, fieldName(key)+" given twice")
		}
		seen[key] = true
		var err error
		switch key {
		case "auth":
			p.Token, err = parseBearer(OAUTHBEARER, value)
		case "host":
			p.Host, err = parseValue(key, value)
		case "port":
			p.Port, err = parsePort(value)
		default:
			if value, err = parseValue(key, value); err == nil {
				if p.Extra == nil {
					p.Extra = map[string]string{}
				}
				p.Extra[key] = value
			}
		}
		if err != nil {
			return OAUTHBEARERParams{}, err
		}
	}
	if !seen["auth"] {
		return OAUTHBEARERParams{}, malformed(OAUTHBEARER, "no auth=")
	}
	return p, nil
}

func parseValue(key, value string) (string, error) {
	if !validValue(value) {
		return "", malformed(OAUTHBEARER, fieldName(key)+" has characters RFC 7628 does not allow")
	}
	return value, nil
}

func parsePort(value string) (int, error) {
	// Base 10 ParseUint takes neither signs nor underscores.
	port, err := strconv.ParseUint(value, 10, 16)
	if err != nil {
		return 0, malformed(OAUTHBEARER, "port= is not a port number")
	}
	return int(port), nil
}

// escapeSASLName escapes an authzid as an RFC 5801 saslname.
func escapeSASLName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// unescapeSASLName undoes escapeSASLName and checks the result is a user
// name: "=" may only start "=2C" or "=3D".
func unescapeSASLName(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '=')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", malformed(OAUTHBEARER, `a= has "=" not followed by 2C or 3D`)
		}
		s = s[i+3:]
	}
	name := b.String()
	if !validUser(name) {
		return "", malformed(OAUTHBEARER, "a= is empty, not UTF-8 or has control characters")
	}
	return name, nil
}

// OAUTHBEARERClient is the client side of OAUTHBEARER (RFC 7628). It
// implements github.com/emersion/go-sasl.Client.
type OAUTHBEARERClient struct {
	x clientExchange
}

// NewOAUTHBEARERClient returns a client that logs in as user (sent as a=,
// left out if empty) with token, telling the server it connected to host and
// port (left out if empty or 0). For a shared mailbox, user is the mailbox
// and token belongs to the delegate.
func NewOAUTHBEARERClient(user, token, host string, port int) *OAUTHBEARERClient {
	c := &OAUTHBEARERClient{x: clientExchange{mech: OAUTHBEARER, answer: []byte{0x01}}}
	switch {
	case user != "" && !validUser(user):
		c.x.irErr = malformed(OAUTHBEARER, "user is not UTF-8 or has control characters")
	case !validToken(token):
		c.x.irErr = malformed(OAUTHBEARER, "token is empty or contains spaces or control characters")
	case host != "" && !validToken(host):
		c.x.irErr = malformed(OAUTHBEARER, "host has spaces or control characters")
	case port < 0 || port > 65535:
		c.x.irErr = malformed(OAUTHBEARER, "port out of range")
	default:
		c.x.ir = OAUTHBEARERResponse(user, host, port, token)
	}
	return c
}

// Start returns the mechanism name and the initial response, or an error
// wrapping ErrMalformed if the arguments cannot be sent.
func (c *OAUTHBEARERClient) Start() (mech string, ir []byte, err error) { return c.x.start() }

// Next answers a server challenge. An empty first challenge gets the initial
// response; any other challenge is taken as a failure: it is remembered for
// Failure and answered with a single 0x01, after which the server ends the
// exchange with its error. A challenge after that is an error.
func (c *OAUTHBEARERClient) Next(challenge []byte) ([]byte, error) { return c.x.next(challenge) }

// Failure returns the failure challenge the server sent in the last
// exchange, or nil if it sent none or sent something that was not a failure
// challenge.
func (c *OAUTHBEARERClient) Failure() *Failure { return c.x.failure }

// OAUTHBEARERServer is the server side of OAUTHBEARER (RFC 7628). It
// implements github.com/emersion/go-sasl.Server.
type OAUTHBEARERServer struct {
	x serverExchange[OAUTHBEARERParams]
}

// NewOAUTHBEARERServer returns a server mechanism that asks auth to decide.
// auth follows the rules of Authenticator; p.Authzid is the user to log in
// as and may be empty, in which case the token's account is meant.
// Rejections without a status are sent as Dovecot's
// {"status":"invalid_token"}.
func NewOAUTHBEARERServer(auth func(p OAUTHBEARERParams) error) *OAUTHBEARERServer {
	if auth == nil {
		panic("oauthsasl: NewOAUTHBEARERServer with a nil authenticator")
	}
	return &OAUTHBEARERServer{x: serverExchange[OAUTHBEARERParams]{
		mech:     OAUTHBEARER,
		parse:    ParseOAUTHBEARER,
		user:     func(p OAUTHBEARERParams) string { return p.Authzid },
		auth:     auth,
		rejected: Failure{Status: "invalid_token"},
	}}
}

// Next implements github.com/emersion/go-sasl.Server. With no initial
// response it asks for one with an empty challenge. A malformed response ends
// the exchange with an error wrapping ErrMalformed; a rejected token is
// answered with the failure challenge, and the client's answer to that ends
// the exchange with an *AuthError.
func (s *OAUTHBEARERServer) Next(response []byte) (challenge []byte, done bool, err error) {
	return s.x.next(response)
}
