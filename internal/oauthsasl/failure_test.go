package oauthsasl

import (
	"errors"
	"testing"
)

var parseFailureTests = []struct {
	name      string
	challenge string
	want      *Failure
}{
	{"gmail xoauth2",
		`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`,
		&Failure{Status: "401", Schemes: "bearer", Scope: "https://mail.google.com/"}},
	{"gmail xoauth2 400",
		`{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`,
		&Failure{Status: "400", Schemes: "Bearer", Scope: "https://mail.google.com/"}},
	{"dovecot oauthbearer",
		`{"status":"invalid_token"}`,
		&Failure{Status: "invalid_token"}},
	{"rfc 7628 example",
		`{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}`,
		&Failure{Status: "invalid_token", Scope: "example_scope", OpenIDConfiguration: "https://example.com/.well-known/openid-configuration"}},
	{"numeric status", `{"status":401}`, &Failure{Status: "401"}},
	{"whitespace and unknown members",
		" {\n \"status\" : \"401\", \"x\": [1,2], \"scope\": 5 }\n",
		&Failure{Status: "401"}},
	{"not json", `+OK`, nil},
	{"empty", ``, nil},
	{"null", `null`, nil},
	{"array", `["401"]`, nil},
	{"string", `"401"`, nil},
	{"no status", `{"schemes":"bearer"}`, nil},
	{"empty status", `{"status":""}`, nil},
	{"null status", `{"status":null}`, nil},
	{"object status", `{"status":{}}`, nil},
	{"trailing garbage", `{"status":"401"}x`, nil},
}

func TestParseFailure(t *testing.T) {

	for _, tt := range parseFailureTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFailure([]byte(tt.challenge))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("ParseFailure(%q) = %+v, want error", tt.challenge, got)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFailure(%q): %v", tt.challenge, err)
			}
			if *got != *tt.want {
				t.Errorf("ParseFailure(%q) = %+v, want %+v", tt.challenge, got, tt.want)
			}
		})
	}
}

func TestFailureError(t *testing.T) {
	tests := []struct {
		f    *Failure
		want string
	}{
		{&Failure{Status: "401", Schemes: "bearer", Scope: "https://mail.google.com/"},
			"server rejected the token (status 401, scope https://mail.google.com/)"},
		{&Failure{Status: "invalid_token"}, "server rejected the token (status invalid_token)"},
		{&Failure{}, "server rejected the token"},
		{nil, "server rejected the token"},
	}
	for _, tt := range tests {
		if got := tt.f.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.f, got, tt.want)
		}
	}
}

// The challenge a server mechanism sends must be byte for byte what Gmail
// and Dovecot send, so that clients tested against the sandbox meet the same
// thing in production.
func TestFailureMarshal(t *testing.T) {
	tests := []struct {
		f    Failure
		want string
	}{
		{Failure{Status: "401", Schemes: "bearer", Scope: "https://mail.google.com/"},
			`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`},
		{Failure{Status: "invalid_token"}, `{"status":"invalid_token"}`},
		{Failure{Status: "invalid_token", Scope: "a&b", OpenIDConfiguration: "https://x/?a=<b>"},
			`{"status":"invalid_token","scope":"a&b","openid-configuration":"https://x/?a=<b>"}`},
	}
	for _, tt := range tests {
		got := string(tt.f.marshal())
		if got != tt.want {
			t.Errorf("marshal(%+v) = %s, want %s", tt.f, got, tt.want)
		}
		back, err := ParseFailure([]byte(got))
		if err != nil || *back != tt.f {
			t.Errorf("ParseFailure(%s) = %+v, %v; want %+v", got, back, err, tt.f)
		}
	}
}
