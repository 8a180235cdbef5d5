package idp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
)

// oauthError is a failure of a token, device or authorize request before it
// is written in its provider's format.
type oauthError struct {
	status int    // HTTP status for JSON answers
	code   string // RFC 6749 "error"
	aadsts int    // Microsoft's number; 0 for Google
	desc   string // Microsoft: the text after "AADSTSnnnn: "; Google: error_description
	// suberror is Microsoft's hint for interaction errors ("basic_action"...).
	suberror string
}

func msErrorf(status int, code string, aadsts int, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, aadsts: aadsts, desc: fmt.Sprintf(format, args...)}
}

func googleError(status int, code, desc string) *oauthError {
	return &oauthError{status: status, code: code, desc: desc}
}

// The Microsoft errors used in more than one place. Texts follow what
// login.microsoftonline.com answers, so that code written against the
// sandbox meets the real wording.

func msMissingParam(name string) *oauthError {
	return msErrorf(400, "invalid_request", 900144, "The request body must contain the following parameter: '%s'.", name)
}

func msInvalidScope(scope string) *oauthError {
	return msErrorf(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist.", scope)
}

func msMultipleResources(raw string) *oauthError {
	return msErrorf(400, "invalid_scope", 28000, "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", raw)
}

func msUnknownResource(resource string) *oauthError {
	return msErrorf(400, "invalid_resource", 500011, "The resource principal named %s was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource)
}

func msTenantNotFound(tenant string) *oauthError {
	return msErrorf(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)
}

func msAppNotFound(clientID, directory string) *oauthError {
	return msErrorf(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, directory)
}

func msNotMultiTenant(a *app) *oauthError {
	return msErrorf(400, "invalid_request", 50194, "Application '%s'(%s) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.", a.ClientID, a.Name)
}

func msConsentMissing(a *app) *oauthError {
	return msErrorf(400, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", a.ClientID, a.Name)
}

func msMalformed() *oauthError {
	return msErrorf(400, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid.")
}

// msErrorBody is the JSON body of every Microsoft token-endpoint error.
type msErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri"`
	Suberror      string `json:"suberror,omitempty"`
}

// msTrace is the request identification Microsoft attaches to every error,
// in the JSON body, in the redirect and on error pages.
type msTrace struct {
	TraceID, CorrelationID, Timestamp string
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// newMSTrace makes fresh IDs. Like Microsoft, it reuses the client's
// client-request-id header as the correlation ID when it is a GUID, so a
// client can find its request in the server's answer.
func (s *Server) newMSTrace(r *http.Request) msTrace {
	corr := r.Header.Get("client-request-id")
	if !uuidPattern.MatchString(corr) {
		corr = newUUID()
	}
	return msTrace{TraceID: newUUID(), CorrelationID: corr, Timestamp: msTimestamp(s.clock.Now())}
}

// fullDescription is the error_description: "AADSTSnnnn: text" followed by
// the trace lines, CRLF-separated as Microsoft sends them.
func (e *oauthError) fullDescription(t msTrace) string {
	return fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		e.aadsts, e.desc, t.TraceID, t.CorrelationID, t.Timestamp)
}

// writeMSError answers a Microsoft token or devicecode request with e.
func (s *Server) writeMSError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	t := s.newMSTrace(r)
	w.Header().Set("client-request-id", t.CorrelationID)
	w.Header().Set("x-ms-request-id", t.TraceID)
	writeJSON(w, e.status, msErrorBody{
		Error:         e.code,
		Description:   e.fullDescription(t),
		ErrorCodes:    []int{e.aadsts},
		Timestamp:     t.Timestamp,
		TraceID:       t.TraceID,
		CorrelationID: t.CorrelationID,
		ErrorURI:      s.baseURL(r) + "/error?code=" + strconv.Itoa(e.aadsts),
		Suberror:      e.suberror,
	})
}

// googleErrorBody is Google's plain error shape.
type googleErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeGoogleError(w http.ResponseWriter, e *oauthError) {
	writeJSON(w, e.status, googleErrorBody{Error: e.code, Description: e.desc})
}

// writeJSON writes v with the headers token endpoints send: JSON, and never
// cached (RFC 6749 section 5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// aadstsExplanations is shown by GET /error?code=N (the error_uri of every
// Microsoft error): what the code means, in plain words. It doubles as a
// list of the codes the sandbox produces.
var aadstsExplanations = map[int]string{
	9002313: "The request is malformed: a parameter is missing or garbled, or the code or refresh token is not one this server issued.",
	900144:  "A required parameter is missing from the request.",
	900561:  "The token endpoint only accepts POST.",
	900971:  "The authorization request carried no redirect_uri.",
	90002:   "The tenant in the URL does not exist. Check the tenant ID or domain.",
	70000:   "The grant (authorization code or refresh token) is invalid: unknown, issued to another client, or already replaced by a newer refresh token. Sign in again.",
	70003:   "The grant_type is not supported.",
	70005:   "The response_type is not supported.",
	70008:   "The authorization code expired (codes live 10 minutes). Start the sign-in again.",
	70011:   "A requested scope does not exist or cannot be combined with the others.",
	70016:   "Device flow: the user has not finished signing in yet. Keep polling at the given interval.",
	70020:   "Device flow: the device code expired before the user signed in. Start again.",
	70043:   "A conditional-access sign-in frequency policy requires the user to sign in again.",
	50011:   "The redirect URI sent does not exactly match one registered on the app. Register the exact URI shown in the message.",
	50020:   "The user does not belong to the tenant the app or the URL requires.",
	50034:   "The user account does not exist in the directory.",
	50058:   "prompt=none was sent but nobody is signed in.",
	50059:   "Client credentials need a tenant-specific URL (tenant ID or domain), not /common or /organizations.",
	50076:   "A policy requires multi-factor authentication: the user must sign in again interactively.",
	50126:   "Wrong user name or password.",
	50194:   "A single-tenant app must use its tenant-specific URL, not /common or /organizations (also for refresh).",
	28000:   "The scopes name more than one resource; a token is for one resource only. Request them separately.",
	65001:   "Consent is missing or was revoked: the user, or an admin for the whole tenant, must consent again.",
	65004:   "The user declined consent.",
	54005:   "The authorization code was already redeemed. Codes are single-use.",
	500011:  "The resource in the scope is unknown.",
	500112:  "The redirect_uri sent to the token endpoint differs from the one used to get the code.",
	500113:  "The app has no redirect URI registered.",
	501481:  "PKCE: the code_verifier does not match the code_challenge of the authorization request.",
	700005:  "The code or refresh token was issued in another tenant than the URL names.",
	700016:  "The client ID is not known in that tenant: wrong tenant ID, wrong client ID, or the app was never consented there.",
	700025:  "The app is a public client (no secrets): it must not send a client secret.",
	70018:   "Device flow: the device_code is unknown or belongs to another client.",
	700082:  "The refresh token expired because it was not used for too long (90 days by default). Sign in again.",
	1002012: "Client credentials need a scope of the form <resource>/.default, e.g. https://outlook.office365.com/.default.",
	7000215: "Invalid client secret: send the secret's value, not its ID.",
	7000218: "The app is not a public client, so the request needs a client secret (or enable 'Allow public client flows' for the device flow).",
	7000222: "The client secret expired. Create a new one in the app registration.",
	50027:   "The client assertion is not a JWT that can be read.",
	5002738: "The client assertion is signed with an algorithm Microsoft does not take (RS256 or PS256).",
	700021:  "The client assertion's iss and sub must be the app's client ID.",
	700023:  "The client assertion's aud must be the token endpoint it is sent to.",
	700024:  "The client assertion is outside its nbf/exp time range: check the client's clock.",
	700027:  "The client assertion's signature does not verify: its certificate is not registered on the app (by thumbprint), expired, or the key is another.",
	90014:   "The request carries both a client secret and a client assertion.",
}
