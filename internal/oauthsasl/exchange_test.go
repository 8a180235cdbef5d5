package oauthsasl

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/emersion/go-sasl"
)

// The accounts the tests' identity provider knows: token → the account that
// owns it, and which accounts may open which other mailboxes.
var (
	testTokens = map[string]string{
		"ya29.alice": "alice@example.com",
		"ya29.bob":   "bob@example.com",
	}
	testDelegates = map[string]map[string]bool{
		"shared@example.com": {"alice@example.com": true},
	}
	gmailFailure = &Failure{Status: "401", Schemes: "bearer", Scope: "https://mail.google.com/"}
)

// checkToken accepts a token for its own account and for the mailboxes its
// account is a delegate of.
func checkToken(user, token string) error {
	account, ok := testTokens[token]
	if !ok {
		return gmailFailure
	}
	if user != account && !testDelegates[user][account] {
		return fmt.Errorf("%s may not open %s: %w", account, user, gmailFailure)
	}
	return nil
}

func checkBearer(p OAUTHBEARERParams) error {
	user := p.Authzid
	if user == "" {
		user = testTokens[p.Token]
	}
	return checkToken(user, p.Token)
}

// transcript is what went over the wire in an exchange.
type transcript struct {
	challenges, responses [][]byte
}

// exchange runs c against s the way a protocol library does: the initial
// response goes with the command when withIR, else the server must ask for
// it. It returns the error the server ended with and the one the client
// gave up with.
func exchange(t *testing.T, c sasl.Client, s sasl.Server, withIR bool) (tr transcript, serverErr, clientErr error) {
	t.Helper()
	_, ir, err := c.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var resp []byte
	if withIR {
		resp = ir
	}
	for range 10 {
		challenge, done, err := s.Next(resp)
		if err != nil {
			if !done {
				t.Errorf("server returned an error without done")
			}
			return tr, err, nil
		}
		if done {
			return tr, nil, nil
		}
		tr.challenges = append(tr.challenges, challenge)
		if resp, err = c.Next(challenge); err != nil {
			return tr, nil, err
		}
		tr.responses = append(tr.responses, resp)
	}
	t.Fatalf("exchange did not end: %+v", tr)
	return
}

// testClient is what both client mechanisms offer.
type testClient interface {
	sasl.Client
	Failure() *Failure
}

type mechanism struct {
	name      string
	client    func(user, token string) testClient
	server    func() sasl.Server
	answer    []byte // the client's answer to a failure challenge
	rejection *Failure
}

var mechanisms = []mechanism{
	{
		name:      XOAUTH2,
		client:    func(user, token string) testClient { return NewXOAUTH2Client(user, token) },
		server:    func() sasl.Server { return NewXOAUTH2Server(checkToken) },
		answer:    []byte{},
		rejection: gmailFailure,
	},
	{
		name: OAUTHBEARER,
		client: func(user, token string) testClient {
			return NewOAUTHBEARERClient(user, token, "imap.example.com", 993)
		},
		server:    func() sasl.Server { return NewOAUTHBEARERServer(checkBearer) },
		answer:    []byte{0x01},
		rejection: gmailFailure,
	},
}

func TestExchangeSuccess(t *testing.T) {
	logins := []struct{ name, user, token string }{
		{"own mailbox", "alice@example.com", "ya29.alice"},
		{"shared mailbox", "shared@example.com", "ya29.alice"},
	}
	for _, m := range mechanisms {
		for _, l := range logins {
			for _, withIR := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/ir=%v", m.name, l.name, withIR), func(t *testing.T) {
					c := m.client(l.user, l.token)
					tr, serr, cerr := exchange(t, c, m.server(), withIR)
					if serr != nil || cerr != nil {
						t.Fatalf("server error %v, client error %v", serr, cerr)
					}
					_, ir, _ := c.Start()
					// Without SASL-IR the server asks with an empty challenge
					// and the client answers with the initial response.
					want := transcript{}
					if !withIR {
						want = transcript{challenges: [][]byte{nil}, responses: [][]byte{ir}}
					}
					if fmt.Sprintf("%q", tr) != fmt.Sprintf("%q", want) {
						t.Errorf("transcript %q, want %q", tr, want)
					}
					if c.Failure() != nil {
						t.Errorf("Failure() = %v after success", c.Failure())
					}
				})
			}
		}
	}
}

func TestExchangeFailure(t *testing.T) {
	logins := []struct{ name, user, token string }{
		{"unknown token", "alice@example.com", "ya29.expired"},
		{"not a delegate", "shared@example.com", "ya29.bob"},
	}
	for _, m := range mechanisms {
		for _, l := range logins {
			t.Run(m.name+"/"+l.name, func(t *testing.T) {
				c := m.client(l.user, l.token)
				tr, serr, cerr := exchange(t, c, m.server(), true)
				if cerr != nil {
					t.Fatalf("client gave up: %v", cerr)
				}
				if len(tr.challenges) != 1 || !bytes.Equal(tr.challenges[0], m.rejection.marshal()) {
					t.Errorf("challenges %q, want the failure JSON %s", tr.challenges, m.rejection.marshal())
				}
				if len(tr.responses) != 1 || !bytes.Equal(tr.responses[0], m.answer) || tr.responses[0] == nil {
					t.Errorf("responses %q, want %q", tr.responses, m.answer)
				}
				if f := c.Failure(); f == nil || *f != *m.rejection {
					t.Errorf("client Failure() = %+v, want %+v", f, m.rejection)
				}
				var ae *AuthError
				if !errors.As(serr, &ae) || !errors.Is(serr, ErrAuthFailed) {
					t.Fatalf("server error %v, want an *AuthError", serr)
				}
				if ae.Mechanism != m.name || ae.User != l.user || *ae.Failure != *m.rejection {
					t.Errorf("AuthError %+v", ae)
				}
				var f *Failure
				if !errors.As(serr, &f) || *f != *m.rejection {
					t.Errorf("errors.As(%v, *Failure) = %+v", serr, f)
				}
			})
		}
	}
}

// A rejection without a status gets the status the real servers send.
func TestServerDefaultFailure(t *testing.T) {
	reject := func() error { return fmt.Errorf("revoked: %w", &Failure{}) }
	tests := []struct {
		s    sasl.Server
		ir   []byte
		want string
	}{
		{NewXOAUTH2Server(func(string, string) error { return reject() }),
			XOAUTH2Response("a@b", "t"), `{"status":"401","schemes":"bearer"}`},
		{NewOAUTHBEARERServer(func(OAUTHBEARERParams) error { return reject() }),
			OAUTHBEARERResponse("a@b", "h", 1, "t"), `{"status":"invalid_token"}`},
		{NewOAUTHBEARERServer(func(OAUTHBEARERParams) error { return (*Failure)(nil) }),
			OAUTHBEARERResponse("a@b", "h", 1, "t"), `{"status":"invalid_token"}`},
	}
	for _, tt := range tests {
		challenge, done, err := tt.s.Next(tt.ir)
		if string(challenge) != tt.want || done || err != nil {
			t.Errorf("Next = %s, %v, %v; want %s, false, nil", challenge, done, err, tt.want)
		}
	}
}

// An authenticator error that is not a *Failure (the provider is down,
// Microsoft's "SMTP AUTH disabled") ends the exchange at once, unchanged, so
// that a protocol server can send its own reply.
func TestServerPassesOtherErrors(t *testing.T) {
	down := errors.New("introspection endpoint down")
	for _, s := range []sasl.Server{
		NewXOAUTH2Server(func(string, string) error { return down }),
		NewOAUTHBEARERServer(func(OAUTHBEARERParams) error { return down }),
	} {
		ir := XOAUTH2Response("a@b", "t")
		if _, ok := s.(*OAUTHBEARERServer); ok {
			ir = OAUTHBEARERResponse("", "", 0, "t")
		}
		challenge, done, err := s.Next(ir)
		if err != down || !done || challenge != nil {
			t.Errorf("Next = %q, %v, %v; want nil, true, %v", challenge, done, err, down)
		}
	}
}

func TestServerMalformed(t *testing.T) {
	called := false
	for _, mk := range []func() sasl.Server{
		func() sasl.Server { return NewXOAUTH2Server(func(string, string) error { called = true; return nil }) },
		func() sasl.Server {
			return NewOAUTHBEARERServer(func(OAUTHBEARERParams) error { called = true; return nil })
		},
	} {
		for _, resp := range [][]byte{[]byte("garbage"), {0x01}, []byte("user=a@b\x01auth=Bearer t u\x01\x01"), []byte("n,,\x01auth=Bearer t u\x01\x01")} {
			s := mk()
			challenge, done, err := s.Next(resp)
			if !errors.Is(err, ErrMalformed) || !done || challenge != nil || errors.Is(err, ErrAuthFailed) {
				t.Errorf("Next(%q) = %q, %v, %v; want nil, true, ErrMalformed", resp, challenge, done, err)
			}
			// The exchange is over; a further response is a protocol error,
			// not a second try.
			if _, done, err := s.Next(XOAUTH2Response("a@b", "t")); !done || !errors.Is(err, sasl.ErrUnexpectedClientResponse) {
				t.Errorf("Next after the end = %v, %v; want done with ErrUnexpectedClientResponse", done, err)
			}
		}
	}
	if called {
		t.Error("authenticator called for a malformed response")
	}
}

// RFC 4422 lets a client omit the initial response; the server must ask for
// it instead of failing or, as go-sasl's OAUTHBEARER server does, panicking.
func TestServerEmptyResponses(t *testing.T) {
	for _, mk := range []func() sasl.Server{
		func() sasl.Server { return NewXOAUTH2Server(checkToken) },
		func() sasl.Server { return NewOAUTHBEARERServer(checkBearer) },
	} {
		for _, first := range [][]byte{nil, {}} {
			s := mk()
			challenge, done, err := s.Next(first)
			if challenge != nil || done || err != nil {
				t.Errorf("Next(%q) = %q, %v, %v; want an empty challenge", first, challenge, done, err)
			}
			// Asking twice would loop forever with a client that has nothing
			// to send.
			challenge, done, err = s.Next([]byte{})
			if !errors.Is(err, ErrMalformed) || !done || challenge != nil {
				t.Errorf("second empty response: %q, %v, %v; want ErrMalformed", challenge, done, err)
			}
		}
	}
}

// Whatever the client answers to the failure challenge, the login failed.
func TestServerAnyFailureAnswer(t *testing.T) {
	for _, answer := range [][]byte{nil, {}, {0x01}, []byte("*"), XOAUTH2Response("alice@example.com", "ya29.alice")} {
		s := NewXOAUTH2Server(checkToken)
		if _, done, err := s.Next(XOAUTH2Response("alice@example.com", "ya29.nope")); done || err != nil {
			t.Fatalf("first Next: %v, %v", done, err)
		}
		challenge, done, err := s.Next(answer)
		if !errors.Is(err, ErrAuthFailed) || !done || challenge != nil {
			t.Errorf("answer %q: Next = %q, %v, %v; want done with ErrAuthFailed", answer, challenge, done, err)
		}
		if _, done, err := s.Next(answer); !done || !errors.Is(err, sasl.ErrUnexpectedClientResponse) {
			t.Errorf("Next after the end = %v, %v", done, err)
		}
	}
}

func TestClientChallenges(t *testing.T) {
	for _, m := range mechanisms {
		t.Run(m.name, func(t *testing.T) {
			t.Run("unparseable failure", func(t *testing.T) {
				c := m.client("alice@example.com", "ya29.alice")
				c.Start()
				resp, err := c.Next([]byte("Authentication failed"))
				if err != nil || !bytes.Equal(resp, m.answer) || resp == nil {
					t.Errorf("Next = %q, %v; want %q, nil", resp, err, m.answer)
				}
				if c.Failure() != nil {
					t.Errorf("Failure() = %+v, want nil", c.Failure())
				}
			})
			t.Run("second challenge", func(t *testing.T) {
				c := m.client("alice@example.com", "ya29.alice")
				c.Start()
				if _, err := c.Next(gmailFailure.marshal()); err != nil {
					t.Fatal(err)
				}
				resp, err := c.Next(gmailFailure.marshal())
				if !errors.Is(err, sasl.ErrUnexpectedServerChallenge) || resp != nil {
					t.Errorf("second Next = %q, %v; want ErrUnexpectedServerChallenge", resp, err)
				}
				var f *Failure
				if !errors.As(err, &f) || *f != *gmailFailure {
					t.Errorf("error %v does not carry the failure", err)
				}
			})
			t.Run("empty challenge after the initial response", func(t *testing.T) {
				// The IR was asked for once; a second empty challenge can only
				// be a failure without details.
				c := m.client("alice@example.com", "ya29.alice")
				_, ir, _ := c.Start()
				if resp, err := c.Next(nil); err != nil || !bytes.Equal(resp, ir) {
					t.Fatalf("first Next = %q, %v; want the initial response", resp, err)
				}
				if resp, err := c.Next([]byte{}); err != nil || !bytes.Equal(resp, m.answer) {
					t.Errorf("second Next = %q, %v; want %q", resp, err, m.answer)
				}
				if _, err := c.Next([]byte{}); err == nil {
					t.Error("third Next succeeded")
				}
			})
			t.Run("reuse", func(t *testing.T) {
				c := m.client("alice@example.com", "ya29.alice")
				c.Start()
				c.Next(gmailFailure.marshal())
				if _, _, err := c.Start(); err != nil {
					t.Fatal(err)
				}
				if c.Failure() != nil {
					t.Errorf("Failure() after a new Start = %+v", c.Failure())
				}
				if resp, err := c.Next(gmailFailure.marshal()); err != nil || !bytes.Equal(resp, m.answer) {
					t.Errorf("Next in the second exchange = %q, %v", resp, err)
				}
			})
			t.Run("initial response is a copy", func(t *testing.T) {
				c := m.client("alice@example.com", "ya29.alice")
				_, ir, _ := c.Start()
				want := string(ir)
				ir[0] = 'X'
				if _, ir2, _ := c.Start(); string(ir2) != want {
					t.Errorf("Start() = %q after the caller changed its copy, want %q", ir2, want)
				}
			})
		})
	}
}

func TestMapErrors(t *testing.T) {
	mapped := errors.New("mapped")
	s := MapErrors(NewXOAUTH2Server(checkToken), func(err error) error {
		if !errors.Is(err, ErrAuthFailed) {
			t.Errorf("mapper got %v", err)
		}
		return mapped
	})
	challenge, done, err := s.Next(XOAUTH2Response("bob@example.com", "ya29.alice"))
	if err != nil || done || !bytes.Equal(challenge, gmailFailure.marshal()) {
		t.Fatalf("first Next = %s, %v, %v", challenge, done, err)
	}
	if _, done, err := s.Next([]byte{}); err != mapped || !done {
		t.Errorf("second Next = %v, %v; want the mapped error", done, err)
	}
}
