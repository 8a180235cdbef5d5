package form

import (
	"strings"

	"mailtokens/internal/provider"
)

// The token form's Cloud select (Microsoft only), apart from token.go so
// that the form's other fields can change beside it.

// CloudOption is one choice of the Cloud select.
type CloudOption struct {
	Value, Label string
	Selected     bool
}

// CloudOptions are the Cloud select's choices, with the form's chosen
// (the worldwide cloud when none is).
func (f Token) CloudOptions() []CloudOption {
	chosen := f.Cloud
	if chosen == "" {
		chosen = provider.CloudGlobal
	}
	var out []CloudOption
	for _, c := range provider.Clouds {
		out = append(out, CloudOption{Value: c.Name, Label: c.Label, Selected: strings.EqualFold(c.Name, chosen)})
	}
	return out
}

// readCloud reads the Cloud select as posted.
func readCloud(get func(string) string) string {
	return get(provider.FieldCloud)
}

// settingsCloud is the cloud to store: "" for the worldwide cloud (as
// tokens made before clouds have it, so that saving one unchanged does not
// look like a change of cloud, which drops the grant) and for types other
// than Microsoft, whose form hides the select; otherwise the name in lower
// case, or what was posted, for Validate to refuse.
func (f Token) settingsCloud(typ provider.Type) string {
	if typ != provider.Microsoft {
		return ""
	}
	c, ok := provider.LookupCloud(f.Cloud)
	switch {
	case !ok:
		return f.Cloud
	case c.Name == provider.CloudGlobal:
		return ""
	}
	return c.Name
}
