package idp

import (
	"context"
	"testing"

	"mailtokens/internal/provider"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// An app holding application permissions of two resources gets each
// resource's roles, and only those, in a client credentials token for it.
func TestConformance_MSAppRolesPerResource(t *testing.T) {
	s, _ := newWorld(t)
	const id = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	s.AddApp(App{Provider: provider.Microsoft, Name: "Graph Daemon", ClientID: id, Secrets: []Secret{{Value: msSecret}}, Tenant: contosoID,
		AppPermissions: []string{"IMAP.AccessAsApp", "https://graph.microsoft.com/Mail.Send", "https://graph.microsoft.com/mail.readwrite"}})
	for _, tc := range []struct{ scope, aud, roles string }{
		{exoDefault, "https://outlook.office365.com", "IMAP.AccessAsApp"},
		{"https://graph.microsoft.com/.default", "https://graph.microsoft.com", "Mail.Send Mail.ReadWrite"},
	} {
		cc := clientcredentials.Config{ClientID: id, ClientSecret: msSecret, TokenURL: msTokenURL(s, contosoID),
			Scopes: []string{tc.scope}, AuthStyle: oauth2.AuthStyleInParams}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", tc.scope, err)
		}
		if in := s.Introspect(tok.AccessToken); !in.AppOnly || in.Audience != tc.aud || in.Scope != tc.roles {
			t.Errorf("%s: introspection = %+v, want roles %q", tc.scope, in, tc.roles)
		}
	}
}
