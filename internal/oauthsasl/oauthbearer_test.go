package oauthsasl

import (
	"errors"
	"reflect"
	"testing"
)

func TestOAUTHBEARERResponse(t *testing.T) {
	tests := []struct {
		name          string
		authzid, host string
		port          int
		token, want   string
	}{
		// RFC 7628 section 4.1.
		{"rfc 7628 example", "user@example.com", "server.example.com", 143, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
			"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"},
		{"gmail", "someuser@gmail.com", "imap.gmail.com", 993, "ya29.abc",
			"n,a=someuser@gmail.com,\x01host=imap.gmail.com\x01port=993\x01auth=Bearer ya29.abc\x01\x01"},
		{"no authzid", "", "imap.gmail.com", 993, "t",
			"n,,\x01host=imap.gmail.com\x01port=993\x01auth=Bearer t\x01\x01"},
		{"no host or port", "a@b", "", 0, "t",
			"n,a=a@b,\x01auth=Bearer t\x01\x01"},
		{"escaped authzid", "a,b=c@d", "h", 1, "t",
			"n,a=a=2Cb=3Dc@d,\x01host=h\x01port=1\x01auth=Bearer t\x01\x01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(OAUTHBEARERResponse(tt.authzid, tt.host, tt.port, tt.token))
			if got != tt.want {
				t.Errorf("OAUTHBEARERResponse = %q, want %q", got, tt.want)
			}
			mech, ir, err := NewOAUTHBEARERClient(tt.authzid, tt.token, tt.host, tt.port).Start()
			if err != nil || mech != OAUTHBEARER || string(ir) != tt.want {
				t.Errorf("Start() = %q, %q, %v; want %q, %q, nil", mech, ir, err, OAUTHBEARER, tt.want)
			}
			p, err := ParseOAUTHBEARER([]byte(got))
			want := OAUTHBEARERParams{Authzid: tt.authzid, Host: tt.host, Port: tt.port, Token: tt.token}
			if err != nil || !reflect.DeepEqual(p, want) {
				t.Errorf("ParseOAUTHBEARER = %+v, %v; want %+v", p, err, want)
			}
		})
	}
}

func TestOAUTHBEARERParamsEncodeExtra(t *testing.T) {
	p := OAUTHBEARERParams{Authzid: "a@b", Token: "t", Extra: map[string]string{"zz": "2", "mid": "1"}}
	const want = "n,a=a@b,\x01mid=1\x01zz=2\x01auth=Bearer t\x01\x01"
	if got := string(p.Encode()); got != want {
		t.Errorf("Encode() = %q, want %q", got, want)
	}
}

var parseOAUTHBEARERTests = []struct {
	name string
	ir   string
	want *OAUTHBEARERParams // nil: want an error
}{
	{"go-sasl client without host", "n,a=a@b,\x01auth=Bearer t\x01\x01",
		&OAUTHBEARERParams{Authzid: "a@b", Token: "t"}},
	{"y flag", "y,,\x01auth=Bearer t\x01\x01", &OAUTHBEARERParams{Token: "t"}},
	{"bearer any case", "n,,\x01auth=bEaReR t\x01\x01", &OAUTHBEARERParams{Token: "t"}},
	{"auth first", "n,,\x01auth=Bearer t\x01host=h\x01port=0993\x01\x01",
		&OAUTHBEARERParams{Host: "h", Port: 993, Token: "t"}},
	{"extra pairs", "n,,\x01qs=a b\x01mfa=otp\x01auth=Bearer t\x01\x01",
		&OAUTHBEARERParams{Token: "t", Extra: map[string]string{"qs": "a b", "mfa": "otp"}}},
	{"unicode authzid", "n,a=jürgen=2C=3D,\x01auth=Bearer t\x01\x01",
		&OAUTHBEARERParams{Authzid: "jürgen,=", Token: "t"}},
	{"port 65535", "n,,\x01port=65535\x01auth=Bearer t\x01\x01", &OAUTHBEARERParams{Port: 65535, Token: "t"}},

	{"empty", "", nil},
	{"just the gs2 header", "n,,", nil},
	{"no kv pairs", "n,,\x01\x01", nil},
	{"no auth", "n,,\x01host=h\x01\x01", nil},
	{"one terminator", "n,,\x01auth=Bearer t\x01", nil},
	{"three terminators", "n,,\x01auth=Bearer t\x01\x01\x01", nil},
	{"no leading kvsep", "n,,auth=Bearer t\x01\x01", nil},
	{"channel binding", "p=tls-unique,,\x01auth=Bearer t\x01\x01", nil},
	{"upper-case flag", "N,,\x01auth=Bearer t\x01\x01", nil},
	{"authzid without a=", "n,user,\x01auth=Bearer t\x01\x01", nil},
	{"empty a=", "n,a=,\x01auth=Bearer t\x01\x01", nil},
	{"bad escape", "n,a=a=2c,\x01auth=Bearer t\x01\x01", nil},
	{"short escape", "n,a=a=2,\x01auth=Bearer t\x01\x01", nil},
	{"authzid with control", "n,a=a\tb,\x01auth=Bearer t\x01\x01", nil},
	{"authzid not utf-8", "n,a=\xff,\x01auth=Bearer t\x01\x01", nil},
	{"two auths", "n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01", nil},
	{"two hosts", "n,,\x01host=a\x01host=b\x01auth=Bearer t\x01\x01", nil},
	{"pair without =", "n,,\x01host\x01auth=Bearer t\x01\x01", nil},
	{"empty key", "n,,\x01=x\x01auth=Bearer t\x01\x01", nil},
	{"key with digit", "n,,\x01k1=x\x01auth=Bearer t\x01\x01", nil},
	{"port too big", "n,,\x01port=65536\x01auth=Bearer t\x01\x01", nil},
	{"port with sign", "n,,\x01port=+1\x01auth=Bearer t\x01\x01", nil},
	{"port empty", "n,,\x01port=\x01auth=Bearer t\x01\x01", nil},
	{"port not a number", "n,,\x01port=imap\x01auth=Bearer t\x01\x01", nil},
	{"host not ascii", "n,,\x01host=\xc3\xa9\x01auth=Bearer t\x01\x01", nil},
	{"value with NUL", "n,,\x01x=\x00\x01auth=Bearer t\x01\x01", nil},
	{"token with space", "n,,\x01auth=Bearer t u\x01\x01", nil},
	{"empty token", "n,,\x01auth=Bearer \x01\x01", nil},
	{"mac scheme", "n,,\x01auth=MAC t\x01\x01", nil},
	{"xoauth2 response", "user=a@b\x01auth=Bearer t\x01\x01", nil},
}

func TestParseOAUTHBEARER(t *testing.T) {

	for _, tt := range parseOAUTHBEARERTests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseOAUTHBEARER([]byte(tt.ir))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("ParseOAUTHBEARER(%q) = %+v; want error", tt.ir, p)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(p, *tt.want) {
				t.Errorf("ParseOAUTHBEARER(%q) = %+v, %v; want %+v", tt.ir, p, err, *tt.want)
			}
		})
	}
}

func TestOAUTHBEARERClientRejectsBadArguments(t *testing.T) {
	tests := []struct {
		user, token, host string
		port              int
	}{
		{"a\x01b", "t", "h", 1},
		{"a\nb", "t", "h", 1},
		{"a@b", "", "h", 1},
		{"a@b", "t u", "h", 1},
		{"a@b", "t", "h\x01auth=Bearer x", 1},
		{"a@b", "t", "h h", 1},
		{"a@b", "t", "h", -1},
		{"a@b", "t", "h", 65536},
	}
	for _, tt := range tests {
		mech, ir, err := NewOAUTHBEARERClient(tt.user, tt.token, tt.host, tt.port).Start()
		if err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("Start() for %+v = %q, %q, %v; want ErrMalformed", tt, mech, ir, err)
		}
	}
}
