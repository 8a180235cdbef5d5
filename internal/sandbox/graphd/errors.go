package graphd

import (
	"encoding/json"
	"net/http"
	"time"

	"mailtokens/internal/sandbox/httpserve"
)

// apiError is one of Graph's JSON errors:
//
//	{"error":{"code":"…","message":"…","innerError":{"date":"…","request-id":"…","client-request-id":"…"}}}
type apiError struct {
	status  int
	code    string
	message string
	// retryAfter, when set, goes out as Retry-After in whole seconds.
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// The errors the sandbox answers with, worded as Microsoft Graph words them
// (learn.microsoft.com's API pages and errors page; users' reports where
// the pages say nothing, noted there).
var (
	errTokenEmpty = &apiError{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.", 0}
	// A token that is not a JWT at all.
	errTokenMalformed = &apiError{http.StatusUnauthorized, "InvalidAuthenticationToken",
		"IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.", 0}
	errTokenExpired  = &apiError{http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.", 0}
	errTokenInvalid  = &apiError{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.", 0}
	errTokenAudience = &apiError{http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", 0}
	errAccessDenied  = &apiError{http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.", 0}
	errMeAppOnly     = &apiError{http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.", 0}
	errNotFound      = &apiError{http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.", 0}
	errInvalidID     = &apiError{http.StatusBadRequest, "ErrorInvalidIdMalformed", "Id is malformed.", 0}
	errRESTDisabled  = &apiError{http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.", 0}
	errBadBase64     = &apiError{http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.", 0}
	// Not confirmed against the service: the code is Exchange's for a
	// message without one valid recipient.
	errNoRecipients = &apiError{http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid.", 0}
	errBadJSON      = &apiError{http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", 0}
	errMediaType    = &apiError{http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json or text/plain.", 0}
	errSyncState    = &apiError{http.StatusGone, "SyncStateNotFound", "The sync state generation is not found.", 0}
	errNoRoute      = &apiError{http.StatusBadRequest, "BadRequest", "Resource not found for the segment.", 0}
)

// invalidUser is the answer for a mailbox the tenant does not have.
func invalidUser(user string) *apiError {
	return &apiError{http.StatusNotFound, "ErrorInvalidUser", "The requested user '" + user + "' is invalid.", 0}
}

// errorBody is the JSON of an apiError.
type errorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// writeError answers e. The request and client request ids are the ones
// the request middleware set on w.
func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	var b errorBody
	b.Error.Code, b.Error.Message = e.code, e.message
	b.Error.InnerError.Date = s.now().UTC().Format("2006-01-02T15:04:05")
	b.Error.InnerError.RequestID = w.Header().Get("request-id")
	b.Error.InnerError.ClientRequestID = w.Header().Get("client-request-id")
	httpserve.SetRetryAfter(w.Header(), e.retryAfter)
	if e.status == http.StatusUnauthorized {
		// What Graph sends with every 401.
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	}
	writeJSON(w, e.status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
