package form

import (
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
}

// Label is what the forms call the field with this identifier; an unknown
// identifier is shown as it is.
func Label(field string) string {
	if l, ok := labels[field]; ok {
		return l
	}
	return field
}
