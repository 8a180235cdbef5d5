package idp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"mailtokens/internal/provider"
)

// Token shapes. Clients must treat tokens as opaque, but they meet their
// length and alphabet: a Microsoft access token is a ~2,000 character JWT, so
// an "AUTH XOAUTH2 <base64>" line goes well past 2,000 bytes; Google access
// tokens start "ya29.", refresh tokens "1//0". The sandbox imitates the
// shapes and keeps the meaning server-side.
const (
	msAccessTokenMin = 1800
	msAccessTokenMax = 2400
	msRefreshPrefix  = "0.A"
	msCodePrefix     = "1.A"
	googleATPrefix   = "ya29.a0"
	googleRTPrefix   = "1//0"
	googleCodePrefix = "4/0"
)

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("idp: crypto/rand failed: " + err.Error()) // cannot happen on supported systems
	}
	return b
}

// randomURLSafe returns n characters of unpadded base64url.
func randomURLSafe(n int) string {
	s := base64.RawURLEncoding.EncodeToString(randomBytes(n*3/4 + 3))
	return s[:n]
}

// randomFrom returns n characters drawn uniformly from alphabet.
func randomFrom(alphabet string, n int) string {
	var sb strings.Builder
	// Bytes past the largest multiple of the alphabet's length are dropped,
	// so that every character is equally likely.
	limit := 256 - 256%len(alphabet)
	for sb.Len() < n {
		for _, b := range randomBytes(n) {
			if int(b) < limit && sb.Len() < n {
				sb.WriteByte(alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return sb.String()
}

// newUUID returns a random (version 4) UUID, the form of every Microsoft
// object, trace and correlation ID.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Microsoft resource app IDs, shown in some AADSTS texts.
const (
	exchangeAppID = "00000002-0000-0ff1-ce00-000000000000"
	graphAppID    = "00000003-0000-0000-c000-000000000000"
)

// msAccessTokenString builds a JWT-shaped Microsoft access token. The claims
// are what Exchange Online tokens carry; the signature is random bytes of an
// RS256 signature's size. Nobody can verify it, and nobody should: resource
// servers ask /introspect.
func (s *Server) msAccessTokenString(t *accessToken) string {
	header := map[string]any{
		"typ":   "JWT",
		"nonce": randomURLSafe(43),
		"alg":   "RS256",
		"x5t":   s.kid,
		"kid":   s.kid,
	}
	claims := map[string]any{
		"aud":             t.audience,
		"iss":             "https://sts.windows.net/" + t.tenantID + "/",
		"iat":             t.issuedAt.Unix(),
		"nbf":             t.issuedAt.Unix(),
		"exp":             t.expiresAt.Unix(),
		"appid":           t.app.ClientID,
		"appidacr":        "1",
		"idp":             "https://sts.windows.net/" + t.tenantID + "/",
		"oid":             t.subject,
		"rh":              "0.A" + randomURLSafe(70) + ".",
		"sub":             randomURLSafe(43),
		"tid":             t.tenantID,
		"uti":             randomURLSafe(22),
		"ver":             "1.0",
		"jti":             newUUID(),
		"xms_idrel":       "7 28",
		"xms_tcdt":        1600000000,
		"xms_ftd":         randomURLSafe(43),
		"app_displayname": t.app.Name,
	}
	if t.appOnly {
		claims["idtyp"] = "app"
		claims["roles"] = strings.Fields(t.scope)
	} else {
		u := t.grant.user
		given, family := namesFromEmail(u.Email)
		claims["idtyp"] = "user"
		claims["scp"] = t.scope
		claims["upn"] = u.Email
		claims["unique_name"] = u.Email
		claims["name"] = strings.TrimSpace(given + " " + family)
		claims["given_name"] = given
		claims["family_name"] = family
		claims["puid"] = strings.ToUpper(hex.EncodeToString(randomBytes(8)))
		claims["sid"] = t.grant.id
		claims["acct"] = 0
		claims["acr"] = "1"
		claims["amr"] = []string{"pwd"}
		claims["ipaddr"] = "127.0.0.1"
		claims["wids"] = []string{"b79fbf4d-3ef9-4689-8143-76b194e85509"}
	}
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // maps of strings and numbers always marshal
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signature := base64.RawURLEncoding.EncodeToString(randomBytes(256))

	// Real tokens carry an opaque "aio" claim whose size varies; use it to
	// land the token in the length range seen in the wild.
	target := msAccessTokenMin + int(randomBytes(2)[0])*(msAccessTokenMax-msAccessTokenMin)/256
	claims["aio"] = ""
	base := len(enc(header)) + len(enc(claims)) + len(signature) + 2
	aioLen := max((target-base)*3/4, 40)
	claims["aio"] = randomURLSafe(aioLen)
	return enc(header) + "." + enc(claims) + "." + signature
}

// namesFromEmail makes display names from "first.last@domain".
func namesFromEmail(email string) (given, family string) {
	local, _, _ := strings.Cut(email, "@")
	first, last, _ := strings.Cut(local, ".")
	return capitalize(first), capitalize(last)
}

func capitalize(s string) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// newMSRefreshTokenString is a long opaque string shaped like Microsoft's
// ("0.A" + base64url, 800+ characters).
func newMSRefreshTokenString() string { return msRefreshPrefix + randomURLSafe(880) }

// looksLikeMSRefreshToken tells a well-formed but unknown token (AADSTS70000)
// from garbage (AADSTS9002313). It only picks the error code; validity always
// comes from the server-side lookup.
func looksLikeMSRefreshToken(v string) bool {
	return strings.HasPrefix(v, msRefreshPrefix) && len(v) > 500
}

func looksLikeMSCode(v string) bool { return strings.HasPrefix(v, msCodePrefix) && len(v) > 500 }

const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func newGoogleAccessTokenString() string  { return googleATPrefix + randomFrom(urlSafe, 160) }
func newGoogleRefreshTokenString() string { return googleRTPrefix + randomFrom(urlSafe, 99) }

// issueAccessTokenLocked mints a delegated access token for a grant. A
// Microsoft token is bound to one resource (the "aud") and its scopes, given
// by ms; Google tokens carry the grant's scopes and ignore ms.
func (s *Server) issueAccessTokenLocked(g *grant, ms msScopes) *accessToken {
	now := s.clock.Now()
	t := &accessToken{
		provider:  g.provider,
		grant:     g,
		app:       g.app,
		tenantID:  g.tenantID,
		subject:   g.user.objectID,
		issuedAt:  now,
		expiresAt: now.Add(s.accessLifetime),
	}
	switch g.provider {
	case provider.Microsoft:
		t.audience = ms.resourceURI
		t.scope = ms.scp()
		t.value = s.msAccessTokenString(t)
	case provider.Google:
		t.audience = g.app.ClientID
		t.scope = strings.Join(g.google, " ")
		t.value = newGoogleAccessTokenString()
	case provider.Generic:
		t.audience = g.app.ClientID
		t.scope = strings.Join(g.std, " ")
		t.value = "std-at." + randomURLSafe(43)
	}
	s.accessTokens[t.value] = t
	return t
}

// issueAppTokenLocked mints an app-only (client credentials) access token:
// no user, and the app's application permissions as roles.
func (s *Server) issueAppTokenLocked(a *app, tenantID string, res *msResource, resourceURI string) *accessToken {
	now := s.clock.Now()
	roles := appRoles(a, res)
	t := &accessToken{
		provider:  provider.Microsoft,
		app:       a,
		tenantID:  tenantID,
		audience:  resourceURI,
		scope:     strings.Join(roles, " "),
		subject:   a.servicePrincipal,
		issuedAt:  now,
		expiresAt: now.Add(s.accessLifetime),
		appOnly:   true,
	}
	t.value = s.msAccessTokenString(t)
	s.accessTokens[t.value] = t
	return t
}

// googleMaxRefreshTokens is Google's limit of live refresh tokens per
// account and client; issuing one more silently invalidates the oldest.
const googleMaxRefreshTokens = 100

// issueRefreshTokenLocked mints a refresh token for a grant.
func (s *Server) issueRefreshTokenLocked(g *grant) *refreshToken {
	now := s.clock.Now()
	rt := &refreshToken{grant: g, issuedAt: now, lastUsed: now}
	switch g.provider {
	case provider.Microsoft:
		rt.value = newMSRefreshTokenString()
	case provider.Google:
		rt.value = newGoogleRefreshTokenString()
		c := s.consentLocked(g.app, g.user)
		c.googleRefresh = append(c.googleRefresh, rt)
		if len(c.googleRefresh) > googleMaxRefreshTokens {
			c.googleRefresh[0].revoked = true
			c.googleRefresh = c.googleRefresh[1:]
		}
	case provider.Generic:
		rt.value = "std-rt." + randomURLSafe(64)
	}
	s.refreshTokens[rt.value] = rt
	return rt
}

// issueCodeLocked mints an authorization code for a grant.
func (s *Server) issueCodeLocked(g *grant, p *pendingAuth, issueRefresh bool) *authCode {
	c := &authCode{
		grant:        g,
		redirectURI:  p.redirectURI,
		challenge:    p.challenge,
		method:       p.method,
		nonce:        p.nonce,
		issuedAt:     s.clock.Now(),
		issueRefresh: issueRefresh,
	}
	switch g.provider {
	case provider.Microsoft:
		c.value = msCodePrefix + randomURLSafe(760)
	case provider.Google:
		c.value = googleCodePrefix + randomFrom(urlSafe, 70)
	default:
		c.value = randomURLSafe(43)
	}
	s.codes[c.value] = c
	return c
}

// expiresIn is the expires_in value for a token issued now.
func expiresIn(t *accessToken) int64 {
	return int64(t.expiresAt.Sub(t.issuedAt) / time.Second)
}

// msTimestamp formats times the way AADSTS error bodies do.
func msTimestamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// msLongTime formats times the way AADSTS texts quote issue dates.
func msLongTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// msTimeSpan formats a duration like .NET's TimeSpan ("90.00:00:00"), which
// is how AADSTS700082 states the inactivity limit.
func msTimeSpan(d time.Duration) string {
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	return fmt.Sprintf("%d.%02d:%02d:%02d", days, h, m, d/time.Second)
}
