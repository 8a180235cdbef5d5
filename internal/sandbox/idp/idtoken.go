package idp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// OpenID Connect: who signed in. With "openid" in the scope both providers
// put an ID token in every token answer of the grant — the code exchange,
// the device grant, and later refreshes too. Its claims follow the scopes:
//
//   - Microsoft (v2.0 ID token): "preferred_username" (the sign-in name,
//     usually the address) and "name" with "profile"; "email" with "email".
//   - Google: "email" and "email_verified" with "email" (userinfo.email);
//     "name", "given_name", "family_name" with "profile". Google sets no
//     preferred_username.
//
// Google's discovery document and userinfo endpoint are served under
// /google, so a token set up as "Other OAuth2 provider" against these URLs
// meets a standards server: with SetMinimalIDTokens the ID token carries
// only the protocol claims, as node oidc-provider's does by default in the
// code flow, and the account is only at userinfo.
//
// Like the access tokens, ID tokens are JWT-shaped with a random signature:
// a client receives them straight from the token endpoint and may read them
// without checking the signature (OIDC Core 3.1.3.7, item 6).

// idTokenLifetime is both providers' ID-token lifetime.
const idTokenLifetime = time.Hour

const (
	googleEmailScope   = "https://www.googleapis.com/auth/userinfo.email"
	googleProfileScope = "https://www.googleapis.com/auth/userinfo.profile"
)

// SetMinimalIDTokens makes ID tokens carry only the protocol claims (iss,
// sub, aud, iat, exp): no address, no name. Off by default, as at
// Microsoft and Google.
func (s *Server) SetMinimalIDTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.minimalIDTokens = on
}

// openIDScopes says which OpenID scopes g was granted.
func openIDScopes(g *grant) (openid, email, profile bool) {
	switch g.provider {
	case provider.Microsoft:
		return slices.Contains(g.ms.oidc, "openid"), slices.Contains(g.ms.oidc, "email"), slices.Contains(g.ms.oidc, "profile")
	case provider.Google:
		return slices.Contains(g.google, "openid"), slices.Contains(g.google, googleEmailScope), slices.Contains(g.google, googleProfileScope)
	case provider.Generic:
		return slices.Contains(g.std, "openid"), slices.Contains(g.std, "email"), slices.Contains(g.std, "profile")
	}
	return false, false, false
}

// subject is the user's stable "sub" for an app: Microsoft's is pairwise
// (per app), Google's a long decimal number per account.
func subject(g *grant) string {
	h := sha256.Sum256([]byte(g.user.objectID + "|" + g.app.ClientID))
	if g.provider == provider.Google {
		u := sha256.Sum256([]byte(g.user.objectID))
		return fmt.Sprintf("1%020d", binary.BigEndian.Uint64(u[:8]))
	}
	return base64.RawURLEncoding.EncodeToString(h[:])[:43]
}

// idTokenLocked is the ID token for an answer of grant g, or "" when g was
// not granted openid. nonce is the authorization request's, for the
// answer to its code ("" for refreshes and the device flow): all three
// issuers echo it, as OIDC Core §3.1.3.7 has clients check.
func (s *Server) idTokenLocked(g *grant, nonce string) string {
	if g == nil {
		return ""
	}
	openid, email, profile := openIDScopes(g)
	if !openid {
		return ""
	}
	now := s.clock.Now()
	claims := map[string]any{"sub": subject(g), "aud": g.app.ClientID, "iat": now.Unix(), "exp": now.Add(idTokenLifetime).Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	given, family := namesFromEmail(g.user.Email)
	switch g.provider {
	case provider.Microsoft:
		claims["iss"] = "https://login.microsoftonline.com/" + g.tenantID + "/v2.0"
		if !s.minimalIDTokens {
			claims["nbf"], claims["tid"], claims["oid"], claims["ver"] = now.Unix(), g.tenantID, g.user.objectID, "2.0"
			claims["rh"], claims["uti"], claims["aio"] = "0.A"+randomURLSafe(70)+".", randomURLSafe(22), randomURLSafe(120)
			if profile {
				claims["preferred_username"] = g.user.Email
				claims["name"] = strings.TrimSpace(given + " " + family)
			}
			if email {
				claims["email"] = g.user.Email
			}
		}
	case provider.Google:
		claims["iss"], claims["azp"] = "https://accounts.google.com", g.app.ClientID
		if !s.minimalIDTokens {
			claims["at_hash"] = randomURLSafe(22)
			if email {
				claims["email"], claims["email_verified"] = g.user.Email, true
			}
			if profile {
				claims["name"], claims["given_name"], claims["family_name"] = strings.TrimSpace(given+" "+family), given, family
			}
		}
	case provider.Generic:
		claims["iss"] = s.URL() + stdPath
		if !s.minimalIDTokens {
			if email {
				claims["email"] = g.user.Email
			}
			if profile {
				claims["preferred_username"] = g.user.Email
			}
		}
	}
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // maps of strings and numbers always marshal
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	header := map[string]any{"alg": "RS256", "kid": s.kid, "typ": "JWT"}
	return enc(header) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString(randomBytes(256))
}

// handleGoogleDiscovery is GET /google/.well-known/openid-configuration
// (Google's is at accounts.google.com), listing the sandbox's own URLs.
func (s *Server) handleGoogleDiscovery(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r) + "/google"
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/o/oauth2/v2/auth",
		"device_authorization_endpoint":         base + "/device/code",
		"token_endpoint":                        base + "/token",
		"userinfo_endpoint":                     base + "/v1/userinfo",
		"revocation_endpoint":                   base + "/revoke",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"claims_supported":                      []string{"aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "sub"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", grantDeviceCode},
	})
}

// handleGoogleUserinfo is GET /google/v1/userinfo (Google's is at
// openidconnect.googleapis.com): the account behind a bearer access token
// granted openid. No token or an unknown one is 401, a token without
// openid 403, with the RFC 6750 WWW-Authenticate header.
func (s *Server) handleGoogleUserinfo(w http.ResponseWriter, r *http.Request) {
	deny := func(status int, code string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
		writeJSON(w, status, map[string]string{"error": code})
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || bearer == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request"})
		return
	}
	s.mu.Lock()
	t := s.accessTokens[bearer]
	var g *grant
	if t != nil && t.grant != nil && !t.grant.revoked && s.clock.Now().Before(t.expiresAt) && t.provider == provider.Google {
		g = t.grant
	}
	s.mu.Unlock()
	if g == nil {
		deny(http.StatusUnauthorized, "invalid_token")
		return
	}
	openid, email, profile := openIDScopes(g)
	if !openid {
		deny(http.StatusForbidden, "insufficient_scope")
		return
	}
	// Userinfo answers in full even with minimal ID tokens: that is where
	// they send clients.
	out := map[string]any{"sub": subject(g)}
	if email {
		out["email"], out["email_verified"] = g.user.Email, true
	}
	if profile {
		given, family := namesFromEmail(g.user.Email)
		out["name"], out["given_name"], out["family_name"] = strings.TrimSpace(given+" "+family), given, family
	}
	writeJSON(w, http.StatusOK, out)
}
