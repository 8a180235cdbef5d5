// Package interop holds tests only: the product — evadmin's command line,
// the token store, evmail and batchmail — against an OAuth2/OpenID Connect
// server we did not write (panva's oidc-provider from npm, see
// internal/sandbox/oidcprovider), with a real Dovecot introspecting that
// server's tokens (internal/sandbox/dovecot). The sandbox identity provider
// imitates Microsoft and Google; these tests keep the "Other OAuth2
// provider" path honest against an independent, standards-compliant
// implementation (issue 12).
//
// They need root, Dovecot, Postfix's smtp-sink, node and the server's
// node_modules; without them they skip, and under MAILTOKENS_REQUIRE_ALL=1
// (CI) they fail:
//
//	apt-get install dovecot-imapd dovecot-pop3d dovecot-submissiond postfix nodejs npm
//	npm ci --prefix internal/sandbox/oidcprovider/testdata/server
//	MAILTOKENS_REQUIRE_ALL=1 go test -count=1 -v ./internal/interop ./internal/sandbox/oidcprovider
package interop
