package admin

import (
	"mailtokens/internal/health"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// tokenRow is one token as every token page shows it.
type tokenRow struct {
	*tokenstore.Token
	Health     health.Report
	TypeLabel  string
	URL        string
	AuthOrigin string
}

// row is how the pages show t, its health as of now.
func (s *Server) row(t *tokenstore.Token) tokenRow {
	return tokenRow{
		Token:      t,
		Health:     health.Of(t, s.now()),
		TypeLabel:  t.Type.Label(),
		URL:        tokenURL(t),
		AuthOrigin: provider.Origin(t.Endpoints().Auth),
	}
}
