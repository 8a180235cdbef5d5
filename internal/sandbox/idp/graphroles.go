package idp

import (
	"net/url"
	"strings"
)

// Application permissions belong to one resource, as in Entra's "API
// permissions" page: an app holds IMAP.AccessAsApp of Office 365 Exchange
// Online and Mail.Send of Microsoft Graph side by side, and a client
// credentials token for one resource carries that resource's roles only.
// App.AppPermissions spells Exchange's bare ("IMAP.AccessAsApp", as they
// always were here) and any other resource's with its identifier URI
// ("https://graph.microsoft.com/Mail.Send").

// appRoles returns the roles a's client credentials token for res carries,
// by their bare names.
func appRoles(a *app, res *msResource) []string {
	var roles []string
	for _, p := range a.AppPermissions {
		permRes, name := exchangeResource, p
		if strings.Contains(p, "://") {
			u, err := url.Parse(p)
			if err != nil {
				continue
			}
			if permRes = lookupMSResource(u); permRes == nil {
				continue
			}
			name = strings.TrimPrefix(u.Path, "/")
		}
		if permRes != res {
			continue
		}
		if canon, ok := canonicalPermission(res.application, name); ok {
			roles = append(roles, canon)
		}
	}
	return roles
}
