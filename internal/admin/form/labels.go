package form

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// labels are what the forms call their fields, by the identifier problems
// with a field carry (package fielderr): the store and the provider report
// identifiers, and the pages show these words.
var labels = map[string]string{
	// The token form (its <label>s show these too).
	tokenstore.FieldName:            "Email Token Name",
	provider.FieldType:              "Email Token Type",
	provider.FieldEmail:             "Email Address",
	provider.FieldTenant:            "Tenant ID",
	provider.FieldClientID:          "Client ID",
	provider.FieldClientSecret:      "Client Secret",
	tokenstore.FieldSecretExpiresOn: "Client Secret Expires",
	provider.FieldScope:             "Scope",
	provider.FieldAuthURL:           "Authorization URL",
	provider.FieldTokenURL:          "Access Token URL",
	provider.FieldDeviceURL:         "Device Code URL",
	provider.FieldRevokeURL:         "Revoke URL",
	provider.FieldCloud:             "Cloud",
	provider.FieldIssuer:            "Issuer URL",
	provider.FieldUserinfoURL:       "Userinfo URL",
	provider.FieldClientAuth:        "Client Authentication",
	provider.FieldAuthParams:        "Extra Authorization Parameters",

	// The paste form, in its list of problems (its <label>s say more).
	fieldJSON:         "Token response",
	fieldAccessToken:  "Access token",
	fieldRefreshToken: "Refresh token",
	fieldExpiresIn:    "Expires in",

	// The Test form.
	fieldProtocol: "Protocol",
	fieldServer:   "Server (host:port)",
	fieldSecurity: "Security",
	fieldUser:     "Mailbox (login user)",
	fieldFolder:   "Folder or label",
	FieldTask:     "Task file",
}

// Label is what the forms call the field with this identifier; an unknown
// identifier is shown as it is.
func Label(field string) string {
	if l, ok := labels[field]; ok {
		return l
	}
	return field
}

// Sentence is how a page shows a problem with a field: a sentence that
// starts with the field's label and ends with a period. Problems are
// written to follow the field's name ("is required: …", `"x" is not …`,
// "/etc/x.properties: line 3: …"),
// as the command line prints them after a flag; a message that cannot
// follow the name (an error's own words) comes after a colon.
func Sentence(field, message string) string {
	m := strings.TrimRight(strings.TrimSpace(message), ". ")
	if m == "" {
		return Label(field) + " is not right."
	}
	word, _, _ := strings.Cut(m, " ")
	if follows[word] || m[0] == '"' || m[0] == '/' {
		return Label(field) + " " + m + "."
	}
	r, n := utf8.DecodeRuneInString(m)
	return Label(field) + ": " + string(unicode.ToUpper(r)) + m[n:] + "."
}

// follows are the words a problem starts with when it reads on from the
// field's name.
var follows = map[string]bool{
	"is": true, "are": true, "must": true, "has": true, "does": true, "cannot": true,
	"contains": true, "names": true, "holds": true, "was": true,
}
