package provider

import (
	"slices"
	"strings"
	"testing"

	"mailtokens/internal/fielderr"
)

// Each national cloud signs in at its own authority and asks for Exchange
// Online's resource in that cloud; "" and "global" are the worldwide
// service.
func TestCloudScopesAndEndpoints(t *testing.T) {
	for _, tt := range []struct {
		cloud, authority, resource, appOnly string
	}{
		{"", "https://login.microsoftonline.com", "https://outlook.office.com", "https://outlook.office365.com"},
		{CloudGlobal, "https://login.microsoftonline.com", "https://outlook.office.com", "https://outlook.office365.com"},
		{CloudUSGov, "https://login.microsoftonline.us", "https://outlook.office365.us", "https://outlook.office365.us"},
		{CloudUSDoD, "https://login.microsoftonline.us", "https://outlook-dod.office365.us", "https://outlook-dod.office365.us"},
		{CloudChina, "https://login.partner.microsoftonline.cn", "https://partner.outlook.cn", "https://partner.outlook.cn"},
	} {
		t.Run("cloud="+tt.cloud, func(t *testing.T) {
			c := Config{Type: Microsoft, Tenant: "contoso.com", ClientID: "cid", Cloud: tt.cloud}
			want := []string{
				tt.resource + "/IMAP.AccessAsUser.All", tt.resource + "/POP.AccessAsUser.All", tt.resource + "/SMTP.Send",
				OfflineAccess, "openid", "profile", "email",
			}
			if got := c.Scopes(); !slices.Equal(got, want) {
				t.Errorf("Scopes() = %q, want %q", got, want)
			}
			if got := c.AppOnlyScopes(); !slices.Equal(got, []string{tt.appOnly + "/.default"}) {
				t.Errorf("AppOnlyScopes() = %q, want %s/.default", got, tt.appOnly)
			}
			base := tt.authority + "/contoso.com/oauth2/v2.0"
			wantE := Endpoints{Auth: base + "/authorize", Token: base + "/token", Device: base + "/devicecode"}
			if got := c.Endpoints(); got != wantE {
				t.Errorf("Endpoints() = %+v, want %+v", got, wantE)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}

			// Scopes the admin typed are kept as typed.
			c.Scope = "https://outlook.office.com/SMTP.Send"
			if got := c.Scopes(); got[0] != c.Scope {
				t.Errorf("typed scope became %q", got[0])
			}
		})
	}
}

// URLs typed by hand (and the sandbox's) still win over the cloud's.
func TestCloudOverridesWin(t *testing.T) {
	c := Config{Type: Microsoft, Tenant: "contoso.com", Cloud: CloudUSGov,
		AuthURL: "http://127.0.0.1:9999/t/oauth2/v2.0/authorize", TokenURL: "http://127.0.0.1:9999/t/oauth2/v2.0/token"}
	e := c.Endpoints()
	if e.Auth != c.AuthURL || e.Token != c.TokenURL || e.Device != "http://127.0.0.1:9999/t/oauth2/v2.0/devicecode" {
		t.Errorf("Endpoints() = %+v", e)
	}
}

// An unknown cloud, or a cloud on a type that has none, is refused in a
// sentence that names the choices.
func TestValidateCloud(t *testing.T) {
	for _, tt := range []struct {
		c    Config
		want string
	}{
		{Config{Type: Microsoft, Tenant: "contoso.com", ClientID: "cid", Cloud: "mooncake"},
			`"mooncake" is not a Microsoft cloud: choose global, usgov (GCC High), usdod (DoD) or china (21Vianet)`},
		{Config{Type: Google, ClientID: "cid", Cloud: CloudUSGov},
			`is only for Microsoft tokens: leave it empty for other types`},
	} {
		err := tt.c.Validate()
		l, _ := err.(fielderr.List)
		if got := l.For(FieldCloud); got != tt.want {
			t.Errorf("Validate(%+v) cloud: %q, want %q (all: %v)", tt.c.Cloud, got, tt.want, err)
		}
	}
	for _, name := range []string{"", "global", "USGov", " china "} {
		c := Config{Type: Microsoft, Tenant: "contoso.com", ClientID: "cid", Cloud: name}
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "cloud") {
			t.Errorf("Validate(Cloud %q): %v", name, err)
		}
	}
}
