package taskconf

import (
	"slices"
	"strings"
	"testing"
)

// A PostgreSQL TOKEN_STORE never carries the password: the properties
// file is read by people and copied into tickets.
func TestStorePasswordNotInURL(t *testing.T) {
	got := problemsOf(t, loadEvadmin, "TOKEN_STORE = postgres://mailtokens:hunter2@db.example.com/mailtokens\n")
	want := ":1: TOKEN_STORE: must not contain the database password: put it in the file TOKEN_STORE_PASSWORD_FILE names (mode 0600), or in PGPASSFILE"
	if !slices.Contains(got, want) {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
	cfg, _, err := LoadEvadmin(write(t, "TOKEN_STORE = postgresql://mailtokens@db.example.com/mailtokens?sslmode=verify-full\n"+
		"TOKEN_STORE_PASSWORD_FILE = /etc/mailtokens/db.password\n"))
	if err != nil || cfg.Store.PasswordFile != "/etc/mailtokens/db.password" {
		t.Fatalf("a URL without password: %v %+v", err, cfg.Store)
	}
}
