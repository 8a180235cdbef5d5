package oauthsasl

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
)

// Real messages seed every fuzzer.
var (
	seedXOAUTH2 = [][]byte{
		XOAUTH2Response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
		XOAUTH2Response("shared@contoso.com", "eyJ0eXAiOiJKV1QifQ.eyJ1cG4iOiJhbGljZSJ9.sig"),
		[]byte("auth=bearer t\x01user=jürgen@b\x01\x01"),
		[]byte("user=a@b\x01auth=Bearer t\x01"),
	}
	seedOAUTHBEARER = [][]byte{
		[]byte("n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"),
		OAUTHBEARERResponse("", "imap.gmail.com", 993, "ya29.abc"),
		OAUTHBEARERResponse("a,b=c@d", "", 0, "t"),
		[]byte("y,,\x01qs=a b\x01auth=BEARER t\x01\x01"),
		[]byte("n,a=a=2,\x01auth=Bearer t\x01\x01"),
	}
	seedFailures = [][]byte{
		[]byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`),
		[]byte(`{"status":"invalid_token"}`),
		[]byte(`{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}`),
		[]byte(`{"status":401}`),
		[]byte(`Authentication failed`),
	}
)

func FuzzParseXOAUTH2(f *testing.F) {
	for _, s := range seedXOAUTH2 {
		f.Add(s)
	}
	for _, tt := range parseXOAUTH2Tests {
		f.Add([]byte(tt.ir))
	}
	f.Fuzz(func(t *testing.T, ir []byte) {
		user, token, err := ParseXOAUTH2(ir)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What the server accepts, the client can send, and it reads back
		// the same.
		_, sent, err := NewXOAUTH2Client(user, token).Start()
		if err != nil {
			t.Fatalf("parsed %q, %q but the client refuses them: %v", user, token, err)
		}
		u2, t2, err := ParseXOAUTH2(sent)
		if err != nil || u2 != user || t2 != token {
			t.Fatalf("round trip of %q, %q gave %q, %q, %v", user, token, u2, t2, err)
		}
	})
}

func FuzzParseOAUTHBEARER(f *testing.F) {
	for _, s := range seedOAUTHBEARER {
		f.Add(s)
	}
	for _, tt := range parseOAUTHBEARERTests {
		f.Add([]byte(tt.ir))
	}
	f.Fuzz(func(t *testing.T, ir []byte) {
		p, err := ParseOAUTHBEARER(ir)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !validToken(p.Token) || (p.Authzid != "" && !validUser(p.Authzid)) {
			t.Fatalf("accepted %+v", p)
		}
		p2, err := ParseOAUTHBEARER(p.Encode())
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip of %+v through %q gave %+v, %v", p, p.Encode(), p2, err)
		}
	})
}

func FuzzParseFailure(f *testing.F) {
	for _, s := range seedFailures {
		f.Add(s)
	}
	for _, tt := range parseFailureTests {
		f.Add([]byte(tt.challenge))
	}
	f.Fuzz(func(t *testing.T, challenge []byte) {
		fail, err := ParseFailure(challenge)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !strings.Contains(fail.Error(), fail.Status) {
			t.Fatalf("Error() %q does not show the status %q", fail.Error(), fail.Status)
		}
		back, err := ParseFailure(fail.marshal())
		if err != nil || *back != *fail {
			t.Fatalf("round trip of %+v through %s gave %+v, %v", fail, fail.marshal(), back, err)
		}
	})
}

// fuzzServer feeds a server mechanism arbitrary responses. Whatever happens,
// it must not panic, must end within three responses, and must only
// succeed or fail the way its authenticator said.
func fuzzServer(t *testing.T, s sasl.Server, called *bool, reject bool, responses ...[]byte) {
	for i, resp := range responses {
		challenge, done, err := s.Next(resp)
		switch {
		case done && err == nil:
			if !*called || reject {
				t.Fatalf("success without the authenticator's consent")
			}
			return
		case done:
			if errors.Is(err, ErrAuthFailed) != (*called && reject) {
				t.Fatalf("ended with %v; authenticator called %v, rejecting %v", err, *called, reject)
			}
			return
		case err != nil:
			t.Fatalf("error %v without done", err)
		case *called:
			// Still going after the authenticator ran: only the failure
			// exchange may do that.
			if !reject {
				t.Fatalf("not done after the authenticator accepted")
			}
			if _, perr := ParseFailure(challenge); perr != nil {
				t.Fatalf("challenge %q after a rejection is not a failure: %v", challenge, perr)
			}
		case i > 0 || len(resp) != 0 || challenge != nil:
			t.Fatalf("response %d %q: challenge %q before the authenticator ran", i, resp, challenge)
		}
	}
	t.Fatalf("exchange not over after %d responses", len(responses))
}

func FuzzXOAUTH2Server(f *testing.F) {
	for _, s := range seedXOAUTH2 {
		f.Add(s, []byte{}, false)
		f.Add(s, []byte{}, true)
		f.Add([]byte{}, s, true)
	}
	for _, tt := range parseXOAUTH2Tests {
		f.Add([]byte(tt.ir), []byte{}, true)
	}
	f.Add([]byte(nil), []byte(nil), false)
	f.Fuzz(func(t *testing.T, first, second []byte, reject bool) {
		called := false
		s := NewXOAUTH2Server(func(user, token string) error {
			called = true
			u2, t2, err := ParseXOAUTH2(XOAUTH2Response(user, token))
			if err != nil || u2 != user || t2 != token {
				t.Fatalf("authenticator got %q, %q, which do not round-trip: %v", user, token, err)
			}
			if reject {
				return gmailFailure
			}
			return nil
		})
		fuzzServer(t, s, &called, reject, first, second, second)
	})
}

func FuzzOAUTHBEARERServer(f *testing.F) {
	for _, s := range seedOAUTHBEARER {
		f.Add(s, []byte{0x01}, false)
		f.Add(s, []byte{0x01}, true)
		f.Add([]byte{}, s, true)
	}
	for _, tt := range parseOAUTHBEARERTests {
		f.Add([]byte(tt.ir), []byte{0x01}, true)
	}
	f.Add([]byte(nil), []byte(nil), false)
	f.Fuzz(func(t *testing.T, first, second []byte, reject bool) {
		called := false
		s := NewOAUTHBEARERServer(func(p OAUTHBEARERParams) error {
			called = true
			p2, err := ParseOAUTHBEARER(p.Encode())
			if err != nil || !reflect.DeepEqual(p, p2) {
				t.Fatalf("authenticator got %+v, which does not round-trip: %v", p, err)
			}
			if reject {
				return &Failure{}
			}
			return nil
		})
		fuzzServer(t, s, &called, reject, first, second, second)
	})
}

// Whatever a server challenges with first, the clients answer without an
// error, so that go-imap/v2 never stops reading in the middle of an
// exchange.
func FuzzClientNext(f *testing.F) {
	for _, s := range seedFailures {
		f.Add(s)
	}
	for _, tt := range parseFailureTests {
		f.Add([]byte(tt.challenge))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, challenge []byte) {
		for _, m := range mechanisms {
			c := m.client("alice@example.com", "ya29.alice")
			_, ir, err := c.Start()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Next(challenge)
			want := m.answer
			if len(challenge) == 0 {
				want = ir
			}
			if err != nil || resp == nil || !bytes.Equal(resp, want) {
				t.Fatalf("%s: Next(%q) = %q, %v; want %q", m.name, challenge, resp, err, want)
			}
			fail, perr := ParseFailure(challenge)
			if got := c.Failure(); (perr == nil) != (got != nil) || (got != nil && *got != *fail) {
				t.Fatalf("%s: Failure() = %+v, ParseFailure = %+v, %v", m.name, got, fail, perr)
			}
		}
	})
}
