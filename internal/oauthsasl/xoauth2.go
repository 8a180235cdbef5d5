package oauthsasl

import (
	"strings"
)

// XOAUTH2Response returns the XOAUTH2 initial response,
// "user=<user>\x01auth=Bearer <token>\x01\x01", unencoded: the protocol
// libraries base64 it. It does not check its arguments; the client's Start
// does.
func XOAUTH2Response(user, token string) []byte {
	return []byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
}

// ParseXOAUTH2 decodes an XOAUTH2 initial response. Both fields are required,
// in either order; the token must be a Bearer token without spaces or control
// characters. Unknown and repeated fields are errors, since no client sends
// them and a server that guessed their meaning could log in the wrong user.
func ParseXOAUTH2(ir []byte) (user, token string, err error) {
	body, ok := strings.CutSuffix(string(ir), "\x01\x01")
	if !ok {
		return "", "", malformed(XOAUTH2, `does not end in "\x01\x01"`)
	}
	var haveUser, haveAuth bool
	for _, field := range strings.Split(body, "\x01") {
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			return "", "", malformed(XOAUTH2, `field without "="`)
		}
		switch key {
		case "user":
			if haveUser {
				return "", "", malformed(XOAUTH2, "user= given twice")
			}
			if !validUser(value) {
				return "", "", malformed(XOAUTH2, "user= is empty, not UTF-8 or has control characters")
			}
			user, haveUser = value, true
		case "auth":
			if haveAuth {
				return "", "", malformed(XOAUTH2, "auth= given twice")
			}
			if token, err = parseBearer(XOAUTH2, value); err != nil {
				return "", "", err
			}
			haveAuth = true
		default:
			return "", "", malformed(XOAUTH2, "unknown "+fieldName(key))
		}
	}
	if !haveUser {
		return "", "", malformed(XOAUTH2, "no user=")
	}
	if !haveAuth {
		return "", "", malformed(XOAUTH2, "no auth=")
	}
	return user, token, nil
}

// XOAUTH2Client is the client side of XOAUTH2, as Gmail and Microsoft 365
// define it. It implements github.com/emersion/go-sasl.Client.
type XOAUTH2Client struct {
	x clientExchange
}

// NewXOAUTH2Client returns a client that logs in as user with token. For a
// shared mailbox, user is the mailbox and token belongs to the delegate.
func NewXOAUTH2Client(user, token string) *XOAUTH2Client {
	c := &XOAUTH2Client{x: clientExchange{mech: XOAUTH2, answer: []byte{}}}
	switch {
	case !validUser(user):
		c.x.irErr = malformed(XOAUTH2, "user is empty, not UTF-8 or has control characters")
	case !validToken(token):
		c.x.irErr = malformed(XOAUTH2, "token is empty or contains spaces or control characters")
	default:
		c.x.ir = XOAUTH2Response(user, token)
	}
	return c
}

// Start returns the mechanism name and the initial response, or an error
// wrapping ErrMalformed if the user or token cannot be sent.
func (c *XOAUTH2Client) Start() (mech string, ir []byte, err error) { return c.x.start() }

// Next answers a server challenge. An empty first challenge gets the initial
// response; any other challenge is taken as a failure: it is remembered for
// Failure and answered with an empty response, after which the server ends
// the exchange with its error. A challenge after that is an error.
func (c *XOAUTH2Client) Next(challenge []byte) ([]byte, error) { return c.x.next(challenge) }

// Failure returns the failure challenge the server sent in the last
// exchange, or nil if it sent none or sent something that was not a failure
// challenge (Microsoft sends none).
func (c *XOAUTH2Client) Failure() *Failure { return c.x.failure }

// Authenticator decides an XOAUTH2 login. user is the user= value, which for
// a shared mailbox differs from the token's account. To reject the token it
// returns a *Failure, possibly wrapped, which is sent to the client; any
// other error ends the exchange at once and is returned by Next as is, so a
// protocol server's own error types pass through.
type Authenticator func(user, token string) error

type xoauth2Creds struct{ user, token string }

// XOAUTH2Server is the server side of XOAUTH2. It implements
// github.com/emersion/go-sasl.Server.
type XOAUTH2Server struct {
	x serverExchange[xoauth2Creds]
}

// NewXOAUTH2Server returns a server mechanism that asks auth to decide.
// Rejections without a status are sent as Gmail's
// {"status":"401","schemes":"bearer"}.
func NewXOAUTH2Server(auth Authenticator) *XOAUTH2Server {
	if auth == nil {
		panic("oauthsasl: NewXOAUTH2Server with a nil Authenticator")
	}
	return &XOAUTH2Server{x: serverExchange[xoauth2Creds]{
		mech: XOAUTH2,
		parse: func(ir []byte) (xoauth2Creds, error) {
			user, token, err := ParseXOAUTH2(ir)
			return xoauth2Creds{user, token}, err
		},
		user:     func(c xoauth2Creds) string { return c.user },
		auth:     func(c xoauth2Creds) error { return auth(c.user, c.token) },
		rejected: Failure{Status: "401", Schemes: "bearer"},
	}}
}

// Next implements github.com/emersion/go-sasl.Server. With no initial
// response it asks for one with an empty challenge. A malformed response ends
// the exchange with an error wrapping ErrMalformed; a rejected token is
// answered with the failure challenge, and the client's answer to that ends
// the exchange with an *AuthError.
func (s *XOAUTH2Server) Next(response []byte) (challenge []byte, done bool, err error) {
	return s.x.next(response)
}
