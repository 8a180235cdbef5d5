package pop3

import (
	"errors"
	"slices"
	"testing"
)

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		line string
		cont bool
		ind  indicator
		text string
		bad  bool
	}{
		{line: "+OK", ind: replyOK},
		{line: "+OK Gpop ready for requests from 1.2.3.4 x", ind: replyOK, text: "Gpop ready for requests from 1.2.3.4 x"},
		{line: "+ok lower case", ind: replyOK, text: "lower case"},
		{line: "+OK  two spaces", ind: replyOK, text: " two spaces"},
		{line: "-ERR", ind: replyErr},
		{line: "-ERR [IN-USE] busy", ind: replyErr, text: "[IN-USE] busy"},
		{line: "+OKAY", bad: true},
		{line: "-ERROR", bad: true},
		{line: "", bad: true},
		{line: "* OK IMAP", bad: true},
		{line: "+", bad: true}, // a challenge outside AUTH
		{line: "+", cont: true, ind: replyContinue},
		{line: "+ ", cont: true, ind: replyContinue},
		{line: "+ eyJzIjoxfQ==", cont: true, ind: replyContinue, text: "eyJzIjoxfQ=="},
		{line: "+OK", cont: true, ind: replyOK},
		{line: "+x", cont: true, bad: true},
	} {
		ind, text, err := parseStatus(tc.line, tc.cont)
		if tc.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("parseStatus(%q, %v) = %v, %q, %v; want ErrMalformed", tc.line, tc.cont, ind, text, err)
			}
			continue
		}
		if err != nil || ind != tc.ind || text != tc.text {
			t.Errorf("parseStatus(%q, %v) = %v, %q, %v; want %v, %q", tc.line, tc.cont, ind, text, err, tc.ind, tc.text)
		}
	}
}

func TestParseCode(t *testing.T) {
	for text, want := range map[string]string{
		"[IN-USE] Do you have another POP session running?":     "IN-USE",
		"[AUTH] Username and password not accepted.":            "AUTH",
		"[SYS/PERM] Your account is not enabled for POP access": "SYS/PERM",
		"[sys/temp] lower": "SYS/TEMP",
		"[LOGIN-DELAY]":    "LOGIN-DELAY",
		"Authentication failure: unknown user name or bad password.": "",
		"[]":             "",
		"[A//B] x":       "",
		"[/A] x":         "",
		"[IN USE] x":     "",
		"[IN-USE x":      "",
		" [IN-USE] x":    "",
		"[A[B] x":        "",
		"[\x01] control": "",
	} {
		if got := parseCode(text); got != want {
			t.Errorf("parseCode(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestErrorText(t *testing.T) {
	e := newError("PASS", "[AUTH] bad\x1b[31m password")
	if e.Code != CodeAuth || e.Temporary() {
		t.Errorf("%+v", e)
	}
	if got, want := e.Error(), "pop3 PASS: -ERR [AUTH] bad?[31m password"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	for _, code := range []string{CodeInUse, CodeLoginDelay, CodeSysTemp} {
		if !(&Error{Code: code}).Temporary() {
			t.Errorf("%s is not temporary", code)
		}
	}
}

func TestParseStat(t *testing.T) {
	for text, want := range map[string][2]int64{
		"2 320":                  {2, 320},
		"0 0":                    {0, 0},
		"3 1024 extra words":     {3, 1024},
		"1 9000000000":           {1, 9000000000},
		"2":                      {-1},
		"-1 5":                   {-1},
		"+1 5":                   {-1},
		"1 0x10":                 {-1},
		"":                       {-1},
		"99999999999999999999 1": {-1},
	} {
		n, size, err := parseStat(text)
		if want[0] < 0 {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("parseStat(%q) = %d, %d, %v; want ErrMalformed", text, n, size, err)
			}
			continue
		}
		if err != nil || int64(n) != want[0] || size != want[1] {
			t.Errorf("parseStat(%q) = %d, %d, %v; want %v", text, n, size, err, want)
		}
	}
}

func TestParseListings(t *testing.T) {
	if got, err := parseListLine("3 1200"); err != nil || got != (MessageSize{3, 1200}) {
		t.Errorf("parseListLine = %+v, %v", got, err)
	}
	for _, bad := range []string{"0 10", "x 10", "3", "3 -1", ""} {
		if _, err := parseListLine(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseListLine(%q) accepted", bad)
		}
	}
	if got, err := parseUIDLine("1 GmailId18c9a2b3c4d5e6f7"); err != nil || got != (MessageID{1, "GmailId18c9a2b3c4d5e6f7"}) {
		t.Errorf("parseUIDLine = %+v, %v", got, err)
	}
	for _, bad := range []string{"1", "1 a b", "0 uid", "1 \x7f", "1 caf\u00e9", "uid 1"} {
		if _, err := parseUIDLine(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseUIDLine(%q) accepted", bad)
		}
	}
}

func TestCapabilityHelpers(t *testing.T) {
	caps := []string{"USER", "RESP-CODES", "EXPIRE 0", "SASL PLAIN xoauth2 OAUTHBEARER", "stls"}
	for name, want := range map[string]bool{"STLS": true, "expire": true, "SASL": true, "UIDL": false, "PLAIN": false} {
		if got := HasCapability(caps, name); got != want {
			t.Errorf("HasCapability(%q) = %v", name, got)
		}
	}
	if got := SASLMechanisms(caps); !slices.Equal(got, []string{"PLAIN", "XOAUTH2", "OAUTHBEARER"}) {
		t.Errorf("SASLMechanisms = %q", got)
	}
	if got := SASLMechanisms([]string{"TOP", "SASL"}); got != nil {
		t.Errorf("SASLMechanisms of a bare SASL = %q", got)
	}
}
