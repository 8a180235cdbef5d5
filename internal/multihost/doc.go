// Package multihost holds tests only: the store's promises across hosts,
// for real. Three Linux network namespaces stand for three hosts; each
// runs its own evmail and batchmail processes, and all of them share one
// PostgreSQL, one identity provider (refresh-token rotation on) and one
// IMAP and one SMTP server, which listen on a fourth namespace, the hub
// (internal/testenv/netns).
//
// It needs root, iproute2's ip and PostgreSQL (initdb, postgres); without
// them it skips, and under MAILTOKENS_REQUIRE_ALL=1 (CI) it fails:
//
//	apt-get install iproute2 postgresql
//	MAILTOKENS_REQUIRE_ALL=1 go test -count=1 -v ./internal/multihost
package multihost
