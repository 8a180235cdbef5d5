package provider

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mailtokens/internal/advice"
)

// rebuild recreates an *Error from what a store kept of it (the OAuth2
// error code and description), so a stored failure can be explained later.
func rebuild(t Type, code, description string) *Error {
	e := &Error{Provider: t, Code: code, Description: description}
	if m := aadstsRE.FindStringSubmatch(description); m != nil {
		n, _ := strconv.Atoi(m[1])
		e.AADSTS = []int{n}
	}
	e.Kind = classify(e)
	return e
}

// Recall rebuilds an error that a store kept as what it was: the OAuth2
// error code and description, or — for an answer without a code (code "")
// and for no answer at all — the cause's text; who had to act; and the
// HTTP status. A stored failure is then explained exactly as when it
// happened. An unknown kind (a record from before kinds were kept) is
// judged again from the code and status.
func (c Config) Recall(op string, kind advice.Kind, status int, code, text string) *Error {
	e := &Error{Op: op, Provider: c.Type, Kind: kind, HTTPStatus: status, Code: code,
		RedirectURL: c.RedirectURL, Tenant: c.Tenant, ServiceAccount: c.ServiceAccountMode()}
	if code == "" {
		e.Err = errors.New(text)
	} else {
		e.Description = text
		if m := aadstsRE.FindStringSubmatch(text); m != nil {
			n, _ := strconv.Atoi(m[1])
			e.AADSTS = []int{n}
		}
	}
	if e.Kind == advice.Unknown {
		e.Kind = classify(e)
	}
	return e
}

// Refused rebuilds an error the provider sent for c — to the redirect URI
// (error, error_description) or kept in a store — naming c's redirect URI
// and tenant in its explanation.
func (c Config) Refused(code, description string) *Error {
	e := rebuild(c.Type, code, description)
	e.RedirectURL, e.Tenant = c.RedirectURL, c.Tenant
	return e
}

// Advice is what to do about e, in one sentence, and who must act; "" for
// an error nobody recognises (e's own text says all there is).
func (e *Error) Advice() (string, advice.Kind) {
	return e.explain(), e.Kind
}

func (e *Error) explain() string {
	redirect := e.RedirectURL
	if redirect == "" {
		redirect = "the redirect URI shown at the top of the token list"
	}
	for _, code := range e.AADSTS {
		if s := explainAADSTS(code, e, redirect); s != "" {
			return s
		}
	}
	switch e.Provider {
	case Google:
		if e.ServiceAccount {
			if s := explainServiceAccount(e); s != "" {
				return s
			}
		}
		if s := explainGoogle(e, redirect); s != "" {
			return s
		}
	}
	return explainGeneric(e, redirect)
}

func explainAADSTS(code int, e *Error, redirect string) string {
	tenant := e.Tenant
	if tenant == "" {
		tenant = "the configured tenant"
	}
	switch code {
	case 70000:
		return "Microsoft no longer accepts this sign-in grant (AADSTS70000): click Get Email Token to sign in again."
	case 700082:
		return "The refresh token expired after 90 days without use (AADSTS700082): click Get Email Token to sign in again, and keep a worker using the token so it is not idle that long."
	case 70043, 50076, 50079, 50078, 50158:
		return fmt.Sprintf("A Conditional Access policy (sign-in frequency or multi-factor authentication) requires a new interactive sign-in (AADSTS%d): click Get Email Token and complete the sign-in, including MFA.", code)
	case 50173, 50055, 50057:
		return fmt.Sprintf("The user's sign-in was revoked, the password changed or expired, or the account was disabled (AADSTS%d): fix the account, then click Get Email Token.", code)
	case 65001:
		return "The app lacks consent for the requested permissions (AADSTS65001): a tenant administrator must grant it in the Entra admin center (App registrations > the app > API permissions > Grant admin consent), then click Get Email Token."
	case 65004:
		return "The sign-in was cancelled at the consent screen (AADSTS65004): click Get Email Token again and accept the permissions."
	case 54005:
		return "This authorization code was already used (AADSTS54005): start again with Get Email Token."
	case 70008:
		return "The authorization code expired before it was redeemed (AADSTS70008): start again with Get Email Token and finish within a few minutes."
	case 700016:
		return fmt.Sprintf("Microsoft found no app with this Client ID in tenant %s (AADSTS700016): check the Client ID and the Tenant ID — a single-tenant app must use its own Directory (tenant) ID, not common.", tenant)
	case 50194:
		return "The app is single-tenant, so the 'common' endpoint is refused (AADSTS50194): set Tenant ID to the app's Directory (tenant) ID."
	case 7000215:
		return "The client secret is wrong (AADSTS7000215): paste the secret's Value (shown once when it was created), not its Secret ID, from Certificates & secrets."
	case 7000222:
		return "The client secret has expired (AADSTS7000222): create a new one under App registrations > the app > Certificates & secrets, save it here, and set its expiry date so mailtokens can warn you next time."
	case 50011:
		return fmt.Sprintf("The redirect URI does not match the app registration (AADSTS50011): add exactly %s as a Web redirect URI under App registrations > the app > Authentication.", redirect)
	case 500113, 900971:
		return fmt.Sprintf("No redirect URI is registered or sent for the app (AADSTS%d): add exactly %s as a Web redirect URI under App registrations > the app > Authentication.", code, redirect)
	case 7000218:
		return "The device-code sign-in needs public client flows, which are off for this app (AADSTS7000218): set 'Allow public client flows' to Yes under App registrations > the app > Authentication > Advanced settings, or use Get Email Token instead."
	case 70011, 28000:
		return fmt.Sprintf("Microsoft refused the scope (AADSTS%d): use only https://outlook.office.com/... mail scopes (IMAP.AccessAsUser.All, POP.AccessAsUser.All, SMTP.Send), without mixing in Graph scopes.", code)
	case 1002012:
		return "App-only access takes exactly one scope ending in /.default (AADSTS1002012): leave Scope empty or set it to https://outlook.office365.com/.default."
	case 9002313:
		return "Microsoft rejected the request as malformed, usually a refresh token that was damaged or belongs to another app (AADSTS9002313): click Get Email Token to sign in again."
	case 50126:
		return "The user name or password was wrong at Microsoft's sign-in page (AADSTS50126): sign in again with the mailbox account."
	case 500011:
		return "The resource (Exchange Online) is not available in this tenant (AADSTS500011): check that the tenant has Exchange Online and that an admin consented to the app."
	case 700024:
		return "Microsoft found the client assertion outside its valid time range (AADSTS700024): this server's clock is probably wrong; set it right (NTP) and try again."
	case 700027:
		return "Microsoft does not accept the certificate the client assertion was signed with (AADSTS700027): upload this certificate (its .cer or .pem, without the key) to App registrations > the app > Certificates & secrets > Certificates, or paste the certificate and key that are registered there; the thumbprints must match, and the registered one must not have expired."
	case 700023:
		return "The client assertion names another token endpoint than the one it was sent to (AADSTS700023): check the Tenant ID and the token URL."
	case 700021:
		return "The client assertion names another app than the Client ID (AADSTS700021): check the Client ID."
	case 50027:
		return "Microsoft could not read the client assertion (AADSTS50027): paste the certificate and its private key again."
	}
	return ""
}

func explainGoogle(e *Error, redirect string) string {
	switch e.Code {
	case "invalid_grant":
		if strings.Contains(e.Description, "expired or revoked") {
			return "Google says the refresh token has expired or was revoked: click Get Email Token to sign in again. If this happens every 7 days, the app's OAuth consent screen is in \"Testing\" — set its publishing status to \"In production\" in Google Cloud Console."
		}
		return "Google refused the authorization (invalid_grant): click Get Email Token to sign in again."
	case "invalid_client", "unauthorized_client":
		return "Google rejected the Client ID or secret: copy both again from Google Cloud Console > APIs & Services > Credentials (an OAuth client of type Web application)."
	case "redirect_uri_mismatch":
		return fmt.Sprintf("The redirect URI is not registered at Google: add exactly %s under Authorized redirect URIs of the OAuth client in Google Cloud Console.", redirect)
	case "invalid_scope":
		if e.Op == "device code" || strings.Contains(e.Description, "device") {
			return DeviceFlowRefused + "."
		}
		return "Google refused the scope: use https://mail.google.com/ for IMAP, POP3 and SMTP."
	case "access_denied":
		return "The sign-in was cancelled at Google's consent screen: click Get Email Token again and allow access."
	case "org_internal":
		return "The OAuth consent screen is limited to users of the app's own Google Workspace organization: sign in with an account of that organization, or make the app External."
	}
	return ""
}

// explainServiceAccount explains a refused service account grant, as
// Google words its refusals (RFC 7523 errors with Google's descriptions).
func explainServiceAccount(e *Error) string {
	switch e.Code {
	case "unauthorized_client":
		return "Google refused to let the service account act for the mailbox (unauthorized_client): a Workspace super admin must grant the service account's client ID domain-wide delegation for https://mail.google.com/ (Admin console > Security > Access and data control > API controls > Domain-wide delegation > Add new). It can take some minutes to apply."
	case "invalid_grant":
		d := strings.ToLower(e.Description)
		switch {
		case strings.Contains(d, "email") || strings.Contains(d, "user"):
			return "Google does not know the mailbox as a user of the service account's Workspace domain (invalid_grant): check the token's Email Address; it must be a user (not a group or alias) of a domain that granted the delegation."
		case strings.Contains(d, "signature") || strings.Contains(d, "account not found"):
			return "Google does not accept the service account's key (invalid_grant): the key or the service account was deleted or disabled; create a new JSON key (IAM > Service accounts > Keys) and upload it on the token's Edit page."
		case strings.Contains(d, "timeframe") || strings.Contains(d, "iat") || strings.Contains(d, "exp"):
			return "Google found the service account's grant outside its valid time (invalid_grant): this server's clock is probably wrong; set it right (NTP) and try again."
		}
		return "Google refused the service account's grant (invalid_grant): check the token's Email Address and the service account's key."
	case "invalid_scope":
		return "Google refused the scope for the service account: use https://mail.google.com/ for IMAP, POP3 and SMTP, and grant exactly that scope in the domain-wide delegation."
	case "invalid_client":
		return "Google does not know the service account (invalid_client): upload its current JSON key on the token's Edit page."
	}
	return ""
}

func explainGeneric(e *Error, redirect string) string {
	who := e.Provider.Label()
	if e.Provider == "" || e.Provider == Generic {
		who = "The provider"
	} else {
		who = "The " + who + " sign-in service"
	}
	if e.Kind == advice.Temporary {
		cause := "did not answer"
		switch {
		case e.HTTPStatus == 429:
			cause = "is throttling requests (HTTP 429)"
		case e.HTTPStatus >= 500:
			cause = fmt.Sprintf("had an internal error (HTTP %d)", e.HTTPStatus)
		case e.HTTPStatus != 0 || (e.Err != nil && !network(e.Err)):
			cause = "sent an answer that could not be read"
		case e.Err != nil:
			cause = "could not be reached (" + e.Err.Error() + ")"
		}
		return fmt.Sprintf("%s %s: the token is kept and the refresh is retried with backoff; check the network or the provider's status page if it persists.", who, cause)
	}
	if e.Code == "" && e.HTTPStatus != 0 {
		return explainNotOAuth(e, who)
	}
	switch e.Code {
	case "invalid_grant":
		return "The provider no longer accepts this grant (invalid_grant): click Get Email Token to sign in again."
	case "invalid_client", "unauthorized_client":
		return "The provider rejected the Client ID or client secret (" + e.Code + "): check both in the token's settings, and that Client Authentication is the method the client is registered for (client_secret_basic, client_secret_post, or none for a public client)."
	case "access_denied", "authorization_declined":
		return "The sign-in was declined: try again and accept the requested permissions."
	case "expired_token":
		return "The device code expired before anyone signed in: start the device sign-in again and enter the code within its time limit."
	case "redirect_uri_mismatch":
		return fmt.Sprintf("The redirect URI is not registered with the provider: register exactly %s.", redirect)
	case "invalid_scope":
		return "The provider refused the scope: check the Scope field."
	case CodeClientKey:
		return "The client key stored for this token " + e.Description + ": save a valid one on the token's Edit page."
	case "nonce_mismatch":
		return "The ID token in the provider's answer does not carry the nonce this sign-in sent, so the answer was not used (it may belong to another sign-in): click Get Email Token to sign in again. If it happens every time, the provider does not return the nonce in its ID tokens, as OpenID Connect requires; remove openid from the Scope to sign in without an ID token."
	case "no_refresh_token":
		return "No refresh token is stored, so the access token cannot be renewed: click Get Email Token (for Microsoft, offline_access is added automatically)."
	}
	if e.Code != "" {
		d := e.Description
		if d != "" {
			d = ": " + d
		}
		return fmt.Sprintf("%s refused the request (%s%s).", who, e.Code, d)
	}
	return ""
}

// network reports whether err is trouble on the way to the provider (it
// could not be reached) rather than an answer that could not be read.
func network(err error) bool {
	_, kind := advice.Of(err)
	return kind == advice.Temporary
}

// explainNotOAuth explains an answer that carried no OAuth2 error: a
// refused refresh without a word (some standards servers answer a revoked
// refresh token with an empty HTTP 400), or something that is not the
// provider's token endpoint at all (a proxy's HTML page, a 404, a
// redirect to a login page).
func explainNotOAuth(e *Error, who string) string {
	if e.Kind == advice.Reauthorize {
		return fmt.Sprintf("%s refused the refresh token with HTTP %d and no explanation, as some servers do for a refresh token that was revoked or expired: click Get Email Token to sign in again. If the sign-in fails too, check the token URL.",
			who, e.HTTPStatus)
	}
	what := "something that is not an OAuth2 answer"
	switch {
	case e.HTTPStatus >= 300 && e.HTTPStatus < 400:
		what = "a redirect (to a login page or another address)"
	case e.HTTPStatus == 404:
		what = "\"not found\""
	}
	return fmt.Sprintf("The token URL answered HTTP %d with %s, so it is not the provider's token endpoint, or a proxy answers in its place: check the token URL in the token's settings (and any proxy between this server and the provider), then save; the token is tried again with the corrected URL.",
		e.HTTPStatus, what)
}
