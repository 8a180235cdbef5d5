package oauthsasl

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Failure is the JSON error a server sends as a SASL challenge when it
// rejects a token, before it gives the protocol's final NO / 535 / -ERR.
// Gmail and Dovecot send {"status":"401","schemes":"bearer","scope":"..."}
// for XOAUTH2 and {"status":"invalid_token",...} for OAUTHBEARER (RFC 7628
// section 3.2.2).
type Failure struct {
	// Status is an HTTP status code ("401") or an RFC 6750 error code
	// ("invalid_token").
	Status string `json:"status,omitempty"`
	// Schemes lists the authentication schemes the server accepts.
	Schemes string `json:"schemes,omitempty"`
	// Scope is the scope a token needs.
	Scope string `json:"scope,omitempty"`
	// OpenIDConfiguration is the URL of the provider's discovery document.
	OpenIDConfiguration string `json:"openid-configuration,omitempty"`
}

// Error says what the server reported, for the admin who reads it next to
// the protocol's own terse reply.
func (f *Failure) Error() string {
	if f == nil || f.Status == "" {
		return "server rejected the token"
	}
	var b strings.Builder
	b.WriteString("server rejected the token (status ")
	b.WriteString(f.Status)
	if f.Scope != "" {
		b.WriteString(", scope ")
		b.WriteString(f.Scope)
	}
	b.WriteString(")")
	return b.String()
}

// marshal encodes f as the challenge a server sends. HTML escaping is off so
// that the bytes are what Gmail and Dovecot send.
func (f *Failure) marshal() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		// A struct of strings always encodes.
		panic("oauthsasl: encoding failure challenge: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// ParseFailure decodes a failure challenge. It needs a JSON object with a
// status; other members are optional, and unknown members and optional
// members of the wrong type are ignored, because a client that learns less
// about a failure is better than one that learns nothing. A numeric status is
// taken as its decimal text.
func ParseFailure(challenge []byte) (*Failure, error) {
	const what = "failure challenge"
	var members map[string]json.RawMessage
	if err := json.Unmarshal(challenge, &members); err != nil || members == nil {
		return nil, malformed(what, "not a JSON object")
	}
	status, ok := jsonText(members["status"], true)
	if !ok || status == "" {
		return nil, malformed(what, "no status")
	}
	f := &Failure{Status: status}
	f.Schemes, _ = jsonText(members["schemes"], false)
	f.Scope, _ = jsonText(members["scope"], false)
	f.OpenIDConfiguration, _ = jsonText(members["openid-configuration"], false)
	return f, nil
}

// jsonText returns a JSON string member's value, or, when numberOK, a JSON
// number's text.
func jsonText(raw json.RawMessage, numberOK bool) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	if numberOK {
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String(), true
		}
	}
	return "", false
}
