package oauthsasl

import (
	"errors"
	"strings"
	"testing"
)

func TestXOAUTH2Response(t *testing.T) {
	tests := []struct {
		user, token, want string
	}{
		// The example from Google's XOAUTH2 protocol page.
		{"someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
			"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"},
		// A shared mailbox: the mailbox is the user, the token the delegate's.
		{"shared@contoso.com", "eyJ0eXAiOiJKV1QifQ.eyJ1cG4iOiJhbGljZUBjb250b3NvLmNvbSJ9.sig",
			"user=shared@contoso.com\x01auth=Bearer eyJ0eXAiOiJKV1QifQ.eyJ1cG4iOiJhbGljZUBjb250b3NvLmNvbSJ9.sig\x01\x01"},
	}
	for _, tt := range tests {
		if got := string(XOAUTH2Response(tt.user, tt.token)); got != tt.want {
			t.Errorf("XOAUTH2Response(%q, %q) = %q, want %q", tt.user, tt.token, got, tt.want)
		}
		mech, ir, err := NewXOAUTH2Client(tt.user, tt.token).Start()
		if err != nil || mech != XOAUTH2 || string(ir) != tt.want {
			t.Errorf("Start() = %q, %q, %v; want %q, %q, nil", mech, ir, err, XOAUTH2, tt.want)
		}
	}
}

var parseXOAUTH2Tests = []struct {
	name, ir    string
	user, token string // empty: want an error
}{
	{"google example", "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01",
		"someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"},
	{"lower-case bearer", "user=a@b\x01auth=bearer t0k\x01\x01", "a@b", "t0k"},
	{"upper-case bearer", "user=a@b\x01auth=BEARER t0k\x01\x01", "a@b", "t0k"},
	{"two spaces", "user=a@b\x01auth=Bearer  t0k\x01\x01", "a@b", "t0k"},
	{"auth first", "auth=Bearer t0k\x01user=a@b\x01\x01", "a@b", "t0k"},
	{"padded token", "user=a@b\x01auth=Bearer dGVzdA==\x01\x01", "a@b", "dGVzdA=="},
	{"unicode user", "user=jürgen@exämple.de\x01auth=Bearer t\x01\x01", "jürgen@exämple.de", "t"},
	{"user with equals", "user=a=b@c\x01auth=Bearer t\x01\x01", "a=b@c", "t"},

	{"empty", "", "", ""},
	{"no terminator", "user=a@b\x01auth=Bearer t", "", ""},
	{"one terminator", "user=a@b\x01auth=Bearer t\x01", "", ""},
	{"three terminators", "user=a@b\x01auth=Bearer t\x01\x01\x01", "", ""},
	{"no user", "auth=Bearer t\x01\x01", "", ""},
	{"no auth", "user=a@b\x01\x01", "", ""},
	{"empty user", "user=\x01auth=Bearer t\x01\x01", "", ""},
	{"user with newline", "user=a@b\r\nX\x01auth=Bearer t\x01\x01", "", ""},
	{"user not utf-8", "user=a\xff\x01auth=Bearer t\x01\x01", "", ""},
	{"two users", "user=a@b\x01user=c@d\x01auth=Bearer t\x01\x01", "", ""},
	{"two auths", "user=a@b\x01auth=Bearer t\x01auth=Bearer u\x01\x01", "", ""},
	{"unknown field", "user=a@b\x01host=x\x01auth=Bearer t\x01\x01", "", ""},
	{"field without =", "user=a@b\x01auth\x01\x01", "", ""},
	{"basic scheme", "user=a@b\x01auth=Basic dDp0\x01\x01", "", ""},
	{"no space", "user=a@b\x01auth=Bearert\x01\x01", "", ""},
	{"empty token", "user=a@b\x01auth=Bearer \x01\x01", "", ""},
	{"token with space", "user=a@b\x01auth=Bearer t u\x01\x01", "", ""},
	{"token with tab", "user=a@b\x01auth=Bearer t\tu\x01\x01", "", ""},
	{"token with CR", "user=a@b\x01auth=Bearer t\r\x01\x01", "", ""},
	{"token not ascii", "user=a@b\x01auth=Bearer tö\x01\x01", "", ""},
	{"base64 by mistake", "dXNlcj1hQGIBYXV0aD1CZWFyZXIgdAEB", "", ""},
}

func TestParseXOAUTH2(t *testing.T) {

	for _, tt := range parseXOAUTH2Tests {
		t.Run(tt.name, func(t *testing.T) {
			user, token, err := ParseXOAUTH2([]byte(tt.ir))
			if tt.user == "" {
				if err == nil {
					t.Fatalf("ParseXOAUTH2(%q) = %q, %q; want error", tt.ir, user, token)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil || user != tt.user || token != tt.token {
				t.Errorf("ParseXOAUTH2(%q) = %q, %q, %v; want %q, %q", tt.ir, user, token, err, tt.user, tt.token)
			}
		})
	}
}

// Errors end up in logs and protocol replies, so they must not carry the
// token, not even one pasted where a key belongs.
func TestParseErrorsHideTokens(t *testing.T) {
	const secret = "SECRETtoken123"
	inputs := []string{
		"user=a@b\x01auth=Bearer " + secret + " x\x01\x01",
		"user=a@b\x01" + secret + "=\x01\x01",
		"user=a@b\x01auth:Bearer " + secret + "=\x01\x01",
		"user=a@b\x01auth=Basic " + secret + "\x01\x01",
		"n,,\x01auth=Bearer " + secret + " x\x01\x01",
		"n,,\x01" + secret + "=x\x01\x01",
		"n,,\x01auth=Bearer " + secret + "\x01auth=Bearer " + secret + "\x01\x01",
	}
	for _, in := range inputs {
		_, _, err1 := ParseXOAUTH2([]byte(in))
		_, err2 := ParseOAUTHBEARER([]byte(in))
		for _, err := range []error{err1, err2} {
			if err == nil {
				t.Errorf("%q parsed", in)
			} else if strings.Contains(err.Error(), secret) {
				t.Errorf("error for %q shows the token: %v", in, err)
			}
		}
	}
}

func TestXOAUTH2ClientRejectsBadArguments(t *testing.T) {
	tests := []struct{ user, token string }{
		{"", "t"},
		{"a@b\x01auth=Bearer evil", "t"},
		{"a@b\n", "t"},
		{"a@b", ""},
		{"a@b", "t u"},
		{"a@b", "t\x01\x01"},
		{"a@b", "t\r\n"},
	}
	for _, tt := range tests {
		mech, ir, err := NewXOAUTH2Client(tt.user, tt.token).Start()
		if err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("Start() for %q, %q = %q, %q, %v; want ErrMalformed", tt.user, tt.token, mech, ir, err)
		}
	}
}
