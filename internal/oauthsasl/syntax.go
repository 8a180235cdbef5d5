package oauthsasl

import (
	"strings"
	"unicode/utf8"
)

// validToken reports whether s can be a bearer token: non-empty visible
// ASCII. RFC 6750's b64token is stricter, but the point here is to stop
// spaces and control characters, which would split or end the message, not
// to second-guess what an identity provider issues.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validUser reports whether s can be a user= or a= value: non-empty UTF-8
// without control characters. 0x01 separates fields, and a CR or LF in a user
// name would only ever be an attempt to forge log lines.
func validUser(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// validKey reports whether s is an RFC 7628 key: 1*ALPHA.
func validKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // fold to lower case
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// validValue reports whether s is an RFC 7628 value:
// *(VCHAR / SP / HTAB / CR / LF).
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// parseBearer takes the token out of an auth= value, "Bearer <token>". The
// scheme is case-insensitive as in HTTP, and HTTP allows more than one space
// after it.
func parseBearer(what, v string) (string, error) {
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", malformed(what, "auth= is not a Bearer token")
	}
	token = strings.TrimLeft(token, " ")
	if !validToken(token) {
		return "", malformed(what, "token is empty or contains spaces or control characters")
	}
	return token, nil
}

// fieldName names a key in an error message only when it is plainly a key;
// anything else might be part of a token pasted in the wrong place.
func fieldName(key string) string {
	if validKey(key) && len(key) <= 32 {
		return "field " + key + "="
	}
	return "field"
}
