package gmaild

import (
	"encoding/json"
	"net/http"
	"time"

	"mailtokens/internal/sandbox/httpserve"
)

// apiError is one of Google's JSON errors:
//
//	{"error":{"code":403,"message":"…","errors":[{"message":"…","domain":"global","reason":"…"}],"status":"PERMISSION_DENIED"}}
type apiError struct {
	status  int
	reason  string // errors[0].reason
	message string
	// detail, when set, is errors[0].message (Google often words it apart
	// from the top-level message); message otherwise.
	detail string
	// location: the 401s name the Authorization header.
	location bool
	// retryAfter, when set, goes out as Retry-After in whole seconds.
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.reason + ": " + e.message }

// grpcStatus is the "status" Google's APIs put beside the HTTP code.
var grpcStatus = map[int]string{
	http.StatusBadRequest:            "INVALID_ARGUMENT",
	http.StatusUnauthorized:          "UNAUTHENTICATED",
	http.StatusForbidden:             "PERMISSION_DENIED",
	http.StatusNotFound:              "NOT_FOUND",
	http.StatusConflict:              "ABORTED",
	http.StatusRequestEntityTooLarge: "OUT_OF_RANGE",
	http.StatusTooManyRequests:       "RESOURCE_EXHAUSTED",
	http.StatusInternalServerError:   "INTERNAL",
	http.StatusServiceUnavailable:    "UNAVAILABLE",
}

// The answers, worded as Gmail words them (developers.google.com's Gmail
// reference and "Resolve errors" page, and users' reports of the real
// service where the pages give no wording).
var (
	// No Authorization header, or not a bearer token.
	errNoToken = &apiError{status: http.StatusUnauthorized, reason: "required", location: true,
		message: "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		detail:  "Login Required."}
	// Unknown, expired or revoked token, or a token of another provider.
	errBadToken = &apiError{status: http.StatusUnauthorized, reason: "authError", location: true,
		message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		detail:  "Invalid Credentials"}
	errScope = &apiError{status: http.StatusForbidden, reason: "insufficientPermissions",
		message: "Request had insufficient authentication scopes."}
	// A token without a user (a service account's own, without a subject)
	// and a user without Gmail both get this from Gmail.
	errPrecondition = &apiError{status: http.StatusBadRequest, reason: "failedPrecondition", message: "Precondition check failed."}
	errMailDisabled = &apiError{status: http.StatusBadRequest, reason: "failedPrecondition", message: "Mail service not enabled"}
	errNotFound     = &apiError{status: http.StatusNotFound, reason: "notFound", message: "Requested entity was not found."}
	errInvalidID    = &apiError{status: http.StatusBadRequest, reason: "invalidArgument", message: "Invalid id value"}
	errNoRaw        = &apiError{status: http.StatusBadRequest, reason: "invalidArgument",
		message: "'raw' RFC822 payload message string or uploading message via /upload/* URL required"}
	errNoRecipients = &apiError{status: http.StatusBadRequest, reason: "invalidArgument", message: "Recipient address required"}
	errTooLarge     = &apiError{status: http.StatusRequestEntityTooLarge, reason: "uploadTooLarge", message: "Request Entity Too Large"}
	errBadJSON      = &apiError{status: http.StatusBadRequest, reason: "parseError", message: "Invalid JSON payload received.", detail: "Parse Error"}
	errNoRoute      = &apiError{status: http.StatusNotFound, reason: "notFound", message: "Not Found"}
	errInternal     = &apiError{status: http.StatusInternalServerError, reason: "backendError", message: "Internal error encountered."}
)

// invalid is a 400 INVALID_ARGUMENT with Gmail's reason "invalidArgument".
func invalid(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, reason: "invalidArgument", message: msg}
}

// delegationDenied is Gmail's answer to a user's token naming another
// user's mailbox: the message names the token's user.
func delegationDenied(user string) *apiError {
	return &apiError{status: http.StatusForbidden, reason: "forbidden", message: "Delegation denied for " + user}
}

type errorItem struct {
	Message      string `json:"message"`
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

// errorBody is the JSON of an apiError.
type errorBody struct {
	Error struct {
		Code    int         `json:"code"`
		Message string      `json:"message"`
		Errors  []errorItem `json:"errors"`
		Status  string      `json:"status"`
	} `json:"error"`
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	var b errorBody
	b.Error.Code, b.Error.Message = e.status, e.message
	item := errorItem{Message: e.message, Domain: "global", Reason: e.reason}
	if e.detail != "" {
		item.Message = e.detail
	}
	if e.location {
		item.Location, item.LocationType = "Authorization", "header"
	}
	b.Error.Errors = []errorItem{item}
	b.Error.Status = grpcStatus[e.status]
	if b.Error.Status == "" {
		b.Error.Status = "UNKNOWN"
	}
	httpserve.SetRetryAfter(w.Header(), e.retryAfter)
	switch {
	case e.status == http.StatusUnauthorized && e.reason == "required":
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
	case e.status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	case e.reason == "insufficientPermissions":
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="insufficient_scope"`)
	}
	writeJSON(w, e.status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
