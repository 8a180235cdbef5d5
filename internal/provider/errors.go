package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"mailtokens/internal/advice"
)

// Error is a failed exchange with a provider, with what the provider said.
type Error struct {
	Op            string // what was being done: "refresh", "exchange code", "device code", …
	Provider      Type
	Kind          advice.Kind // who must act
	HTTPStatus    int         // 0 when no answer came
	Code          string      // OAuth2 "error", e.g. invalid_grant
	Description   string      // "error_description", without Microsoft's trace lines
	AADSTS        []int       // Microsoft "error_codes"
	TraceID       string
	CorrelationID string
	Timestamp     string
	RedirectURL   string // the redirect URI that was sent, to name it in explanations
	Tenant        string
	// ServiceAccount: the request was a Google service account's grant,
	// whose refusals mean other things than a person's sign-in's.
	ServiceAccount bool
	Err            error // the underlying cause (network error, decode error)
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Code != "":
		b.WriteString(e.Code)
		if e.Description != "" {
			b.WriteString(": ")
			b.WriteString(e.Description)
		}
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
		if e.Err != nil {
			b.WriteString(": ")
			b.WriteString(e.Err.Error())
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// HasCode reports whether Microsoft listed code among its AADSTS error codes.
func (e *Error) HasCode(code int) bool {
	for _, c := range e.AADSTS {
		if c == code {
			return true
		}
	}
	return false
}

// ShortCode is the most specific code for storage and display:
// "AADSTS700082" when Microsoft gave one, else the OAuth2 error, else the
// HTTP status.
func (e *Error) ShortCode() string {
	switch {
	case len(e.AADSTS) > 0:
		return "AADSTS" + strconv.Itoa(e.AADSTS[0])
	case e.Code != "":
		return e.Code
	case e.HTTPStatus != 0:
		return "HTTP " + strconv.Itoa(e.HTTPStatus)
	case e.Kind == advice.Temporary:
		return "network"
	}
	return "error"
}

// errorBody is what Microsoft and Google put in a failed token response.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// wrap turns whatever x/oauth2 or net/http returned into an *Error.
func (c Config) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	if ke := c.keyProblem(op, err); ke != nil {
		return ke // our own key, not the provider or the network
	}
	e := c.newError(op)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		e.fromAnswer(status, re.Body)
		if e.Code == "" && re.ErrorCode != "" {
			// A form-encoded error answer, which x/oauth2 decoded for us.
			e.Code, e.Description = re.ErrorCode, firstLine(re.ErrorDescription)
			e.Err = nil
			e.Kind = classify(e)
		}
		return e
	}
	// No answer (network, timeout), or a 2xx answer x/oauth2 could not
	// decode (malformed JSON, missing access_token): the provider or the
	// path to it misbehaved, not our setup, so a retry may work.
	e.Err = err
	e.Kind = advice.Temporary
	return e
}

// aadstsKinds sorts the Microsoft codes we know by who must act.
var aadstsKinds = map[int]advice.Kind{
	// The grant is gone: a user signs in again.
	70000: advice.Reauthorize, 700082: advice.Reauthorize, 70043: advice.Reauthorize, 50076: advice.Reauthorize,
	50079: advice.Reauthorize, 50078: advice.Reauthorize, 50158: advice.Reauthorize, 50173: advice.Reauthorize,
	50055: advice.Reauthorize, 50057: advice.Reauthorize, 54005: advice.Reauthorize, 70008: advice.Reauthorize,
	9002313: advice.Reauthorize, 65004: advice.Reauthorize, 50126: advice.Reauthorize,
	// The app registration or the token's settings need fixing first.
	65001: advice.Misconfigured, 500011: advice.Misconfigured, 7000215: advice.Misconfigured, 7000222: advice.Misconfigured,
	700016: advice.Misconfigured, 50011: advice.Misconfigured, 500113: advice.Misconfigured, 900971: advice.Misconfigured,
	7000218: advice.Misconfigured, 50194: advice.Misconfigured, 70011: advice.Misconfigured, 28000: advice.Misconfigured,
	1002012: advice.Misconfigured, 700024: advice.Misconfigured, 50012: advice.Misconfigured,
	// Certificate credentials (client assertions).
	700027: advice.Misconfigured, 700023: advice.Misconfigured, 700021: advice.Misconfigured, 50027: advice.Misconfigured,
}

func (c Config) newError(op string) *Error {
	return &Error{Op: op, Provider: c.Type, RedirectURL: c.RedirectURL, Tenant: c.Tenant, ServiceAccount: c.ServiceAccountMode()}
}

// fromAnswer fills e from a provider's error answer: Microsoft's and
// Google's JSON bodies, or anything else (an HTML 502 page) as the cause.
func (e *Error) fromAnswer(status int, body []byte) {
	e.HTTPStatus = status
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		e.Code = b.Error
		e.Description = firstLine(b.ErrorDescription)
		e.AADSTS = b.ErrorCodes
		e.TraceID, e.CorrelationID, e.Timestamp = b.TraceID, b.CorrelationID, b.Timestamp
	}
	if len(e.AADSTS) == 0 {
		if m := aadstsRE.FindStringSubmatch(e.Description); m != nil {
			n, _ := strconv.Atoi(m[1])
			e.AADSTS = []int{n}
		}
	}
	if e.Code == "" {
		e.Err = fmt.Errorf("unexpected answer: %s", truncate(string(body), 200))
	}
	e.Kind = classify(e)
	if e.ServiceAccount && e.Kind == advice.Reauthorize {
		// Nobody signs in for a service account: its grant is refused
		// because of settings (the mailbox, the key, the delegation).
		e.Kind = advice.Misconfigured
	}
	if e.Code == "" && e.Op == "refresh" && (status == 400 || status == 401) && len(bytes.TrimSpace(body)) == 0 {
		// Some standards servers refuse a revoked or expired refresh token
		// with a bare 400 or 401: the grant is gone, as with invalid_grant.
		e.Kind = advice.Reauthorize
	}
}

// classify decides who must act on a provider's error answer.
func classify(e *Error) advice.Kind {
	if e.HTTPStatus >= 500 || e.HTTPStatus == 429 || e.HTTPStatus == 408 {
		return advice.Temporary
	}
	for _, code := range e.AADSTS {
		if k, ok := aadstsKinds[code]; ok {
			return k
		}
	}
	switch e.Code {
	case "invalid_grant", "interaction_required", "login_required", "consent_required", "access_denied",
		"expired_token", "authorization_declined", "invalid_token", "no_refresh_token", "nonce_mismatch":
		return advice.Reauthorize
	case "temporarily_unavailable", "server_error":
		return advice.Temporary
	case "":
		if e.HTTPStatus == 0 || e.HTTPStatus >= 500 {
			return advice.Temporary
		}
	}
	return advice.Misconfigured
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
