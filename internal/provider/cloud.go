package provider

import (
	"fmt"
	"strings"
)

// Microsoft's clouds, as Config.Cloud names them. "" is CloudGlobal.
const (
	CloudGlobal = "global" // worldwide Microsoft 365 (and GCC, which signs in there)
	CloudUSGov  = "usgov"  // Microsoft 365 GCC High
	CloudUSDoD  = "usdod"  // Microsoft 365 DoD
	CloudChina  = "china"  // Microsoft 365 operated by 21Vianet
)

// Cloud is where a Microsoft tenant lives: the authority it signs in at and
// the host of Exchange Online, whose resource the mail scopes name.
type Cloud struct {
	Name  string // as Config.Cloud stores it
	Label string // for a person choosing one
	// Authority is the identity platform's origin; endpoints are
	// Authority/{tenant}/oauth2/v2.0/...
	Authority string
	// Resource prefixes the delegated scopes (Resource + "/IMAP.AccessAsUser.All");
	// AppOnlyResource the client-credentials scope (AppOnlyResource + "/.default").
	// Worldwide they differ (outlook.office.com, outlook.office365.com);
	// the national clouds have one host for both.
	Resource, AppOnlyResource string
	// MailHost is Exchange Online's IMAP and POP3 server in that cloud.
	MailHost string
}

// Clouds are the clouds an admin can choose, worldwide first.
var Clouds = []Cloud{
	{CloudGlobal, "Global (worldwide, also GCC)", MicrosoftAuthority, "https://outlook.office.com", "https://outlook.office365.com", "outlook.office365.com"},
	{CloudUSGov, "US Government GCC High", "https://login.microsoftonline.us", "https://outlook.office365.us", "https://outlook.office365.us", "outlook.office365.us"},
	{CloudUSDoD, "US Government DoD", "https://login.microsoftonline.us", "https://outlook-dod.office365.us", "https://outlook-dod.office365.us", "outlook-dod.office365.us"},
	{CloudChina, "China (operated by 21Vianet)", "https://login.partner.microsoftonline.cn", "https://partner.outlook.cn", "https://partner.outlook.cn", "partner.outlook.cn"},
}

// LookupCloud returns the cloud named name (any case, "" for global).
func LookupCloud(name string) (Cloud, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		name = CloudGlobal
	}
	for _, c := range Clouds {
		if c.Name == name {
			return c, true
		}
	}
	return Cloud{}, false
}

// cloud is the config's cloud; an unknown name (which Validate refuses)
// counts as global.
func (c Config) cloud() Cloud {
	if cl, ok := LookupCloud(c.Cloud); ok {
		return cl
	}
	return Clouds[0]
}

// scope moves a worldwide mail scope into the cloud: the delegated
// resource https://outlook.office.com, or the app-only one
// https://outlook.office365.com, becomes the cloud's.
func (cl Cloud) scope(global string) string {
	g := Clouds[0]
	if rest, ok := strings.CutPrefix(global, g.Resource+"/"); ok {
		return cl.Resource + "/" + rest
	}
	if rest, ok := strings.CutPrefix(global, g.AppOnlyResource+"/"); ok {
		return cl.AppOnlyResource + "/" + rest
	}
	return global
}

// cloudChoices is the list of names an error message offers.
func cloudChoices() string {
	return "global, usgov (GCC High), usdod (DoD) or china (21Vianet)"
}

// validateCloud returns what is wrong with the config's cloud, or "".
func (c Config) validateCloud() string {
	if _, ok := LookupCloud(c.Cloud); !ok {
		return fmt.Sprintf("%q is not a Microsoft cloud: choose %s", c.Cloud, cloudChoices())
	}
	if c.Type != Microsoft && strings.TrimSpace(c.Cloud) != "" {
		return "is only for Microsoft tokens: leave it empty for other types"
	}
	return ""
}
