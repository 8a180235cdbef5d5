package oidcprovider

import (
	"errors"
	"testing"

	"mailtokens/internal/testenv"
)

// Require skips t (fails it under MAILTOKENS_REQUIRE_ALL=1) when the
// server cannot run here; see Missing.
func Require(t testing.TB) {
	t.Helper()
	if err := Missing(); err != nil {
		fatal(t, err)
	}
}

// Start runs a server for t and stops it when t ends; what the server
// printed goes to t's log when t fails. It skips t (fails it under
// MAILTOKENS_REQUIRE_ALL=1) when node or the server's node_modules are
// missing.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s, err := Launch(opt)
	if err != nil {
		fatal(t, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("oidc-provider at %s printed:\n%s", s.Issuer, s.Output())
		}
	})
	return s
}

func fatal(t testing.TB, err error) {
	t.Helper()
	if m, ok := errors.AsType[*MissingError](err); ok {
		testenv.Missing(t, m.What, m.Remedy)
	}
	t.Fatal(err)
}
