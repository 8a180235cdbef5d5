package admin

import (
	"context"

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

// row is how the pages show t, its health (with its tasks') as of now.
func (s *Server) row(ctx context.Context, t *tokenstore.Token) tokenRow {
	tasks, err := s.store.Tasks(ctx, t.Name)
	if err != nil {
		s.log.Error("read the token's tasks", "token", t.Name, "err", err)
	}
	return s.rowOf(t, tasks)
}

// rowOf is row with t's tasks at hand.
func (s *Server) rowOf(t *tokenstore.Token, tasks []tokenstore.TaskUse) tokenRow {
	return tokenRow{
		Token:      t,
		Health:     health.Of(t, tasks, s.now()),
		TypeLabel:  t.Type.Label(),
		URL:        tokenURL(t),
		AuthOrigin: provider.Origin(t.Endpoints().Auth),
	}
}
