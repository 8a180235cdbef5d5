package tokenstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/database"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/testenv/pgtest"
)

// openTest opens a store in a fresh directory with a key file beside it.
func openTest(t *testing.T, opt Options) *Store {
	t.Helper()
	dir := t.TempDir()
	if opt.Path == "" {
		opt.Path = pgtest.StorePath(t, filepath.Join(dir, "tokens.db"))
	}
	if opt.KeyFile == "" && opt.Key == "" {
		opt.KeyFile = filepath.Join(dir, "tokens.key")
	}
	s, err := Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func msSettings(name string) Settings {
	return Settings{Name: name, Config: provider.Config{
		Type:         provider.Microsoft,
		Email:        "support@contoso.example",
		Tenant:       "contoso.example",
		ClientID:     "11111111-2222-3333-4444-555555555555",
		ClientSecret: secret.New("client-secret-" + name),
		Scope:        provider.MicrosoftIMAPScope,
	}}
}

func TestCreateGetUpdateDelete(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})

	tok, err := s.Create(ctx, msSettings("Support"), ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Status != StatusNew || tok.ClientSecret.Reveal() != "client-secret-Support" || !tok.HasClientSecret {
		t.Fatalf("created token: %+v", tok)
	}

	// Names are unique regardless of case: "support" would be a trap in a
	// task file.
	if _, err := s.Create(ctx, msSettings("support"), ActorCLI); !errors.Is(err, ErrDuplicateName) {
		t.Fatalf("duplicate name: got %v, want ErrDuplicateName", err)
	}
	// Lookup is case-insensitive too.
	if got, err := s.Get(ctx, "SUPPORT"); err != nil || got.ID != tok.ID {
		t.Fatalf("case-insensitive Get: %v %v", got, err)
	}

	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %v %v", list, err)
	}
	if !list[0].ClientSecret.IsZero() || !list[0].HasClientSecret {
		t.Fatalf("List must not decrypt secrets but must say they are set: %+v", list[0])
	}

	// Update without a secret keeps the old one.
	edit := msSettings("Support Mailbox")
	edit.ClientSecret = secret.Secret{}
	edit.Scope = provider.MicrosoftSMTPScope
	tok2, err := s.Update(ctx, "Support", edit, ActorAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if tok2.Name != "Support Mailbox" || tok2.Scope != provider.MicrosoftSMTPScope || tok2.ClientSecret.Reveal() != "client-secret-Support" {
		t.Fatalf("after update: %+v (secret %q)", tok2, tok2.ClientSecret.Reveal())
	}
	edit.ClientSecret = secret.New("new-secret")
	tok3, err := s.Update(ctx, "Support Mailbox", edit, ActorAdmin)
	if err != nil || tok3.ClientSecret.Reveal() != "new-secret" {
		t.Fatalf("secret not replaced: %v", err)
	}

	events, err := s.Events(ctx, "Support Mailbox", 10)
	if err != nil {
		t.Fatal(err)
	}
	kinds := eventKinds(events)
	if want := "edited edited created"; kinds != want {
		t.Fatalf("events %q, want %q", kinds, want)
	}
	for _, e := range events {
		if strings.Contains(e.Text, "secret-") || strings.Contains(e.Text, "new-secret") {
			t.Fatalf("event text shows a secret: %q", e.Text)
		}
	}
	if !strings.Contains(events[0].Text, "client secret replaced") || events[0].Actor != ActorAdmin {
		t.Fatalf("edit event = %+v", events[0])
	}

	if err := s.Delete(ctx, "support mailbox", ActorCLI); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "Support Mailbox"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	all, _ := s.Events(ctx, "", 10)
	if len(all) == 0 || all[0].Kind != EventDeleted || all[0].TokenName != "Support Mailbox" {
		t.Fatalf("deleted event missing: %+v", all)
	}
}

func eventKinds(events []Event) string {
	var k []string
	for _, e := range events {
		k = append(k, string(e.Kind))
	}
	return strings.Join(k, " ")
}

func TestCreateRefusesBadInputAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	bad := []struct {
		set   Settings
		field string
	}{
		{Settings{Config: provider.Config{Type: provider.Google, ClientID: "x"}}, FieldName},
		{Settings{Name: " lead", Config: provider.Config{Type: provider.Google, ClientID: "x"}}, FieldName},
		{Settings{Name: "a/b", Config: provider.Config{Type: provider.Google, ClientID: "x"}}, FieldName},
		{Settings{Name: "ms", Config: provider.Config{Type: provider.Microsoft, ClientID: "x"}}, provider.FieldTenant},
		{Settings{Name: "x", Config: provider.Config{Type: "outlook", ClientID: "x"}}, provider.FieldType},
		{Settings{Name: "x", Config: provider.Config{Type: provider.Generic, ClientID: "x"}}, provider.FieldAuthURL},
		{Settings{Name: "x", Config: provider.Config{Type: provider.Google, ClientID: "x", Email: "not-an-address"}}, provider.FieldEmail},
		{Settings{Name: "x", Config: provider.Config{Type: provider.Google, ClientID: "x", TokenURL: "ftp://x"}}, provider.FieldTokenURL},
	}
	for _, b := range bad {
		_, err := s.Create(ctx, b.set, ActorCLI)
		var l fielderr.List
		if !errors.As(err, &l) || l.For(b.field) == "" {
			t.Errorf("Create(%+v) = %v, want an error for %q", b.set, err, b.field)
		}
	}
	var n int
	s.db.QueryRow(`SELECT (SELECT COUNT(*) FROM tokens) + (SELECT COUNT(*) FROM events)`).Scan(&n)
	if n != 0 {
		t.Fatalf("bad input wrote %d rows", n)
	}
}

func TestNotFoundListsKnownNames(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	_, err := s.Get(ctx, "nope")
	if err == nil || !strings.Contains(err.Error(), "no tokens yet") {
		t.Fatalf("empty store: %v", err)
	}
	for _, n := range []string{"billing", "support"} {
		if _, err := s.Create(ctx, msSettings(n), ActorCLI); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.Source("suport", ActorEvmail).Token(ctx)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "billing, support") {
		t.Fatalf("got %v, want the known names listed", err)
	}
	_, err = s.Source("", ActorEvmail).Token(ctx)
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "no default token") {
		t.Fatalf("no default: got %v", err)
	}
}

func TestDefaultToken(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	for _, n := range []string{"a", "b"} {
		if _, err := s.Create(ctx, msSettings(n), ActorCLI); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDefault(ctx, "a", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDefault(ctx, "b", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	list, _ := s.List(ctx)
	defaults := 0
	for _, tok := range list {
		if tok.Default {
			defaults++
			if tok.Name != "b" {
				t.Fatalf("default is %q, want b", tok.Name)
			}
		}
	}
	if defaults != 1 {
		t.Fatalf("%d defaults, want 1", defaults)
	}
	got, err := s.Get(ctx, "")
	if err != nil || got.Name != "b" {
		t.Fatalf("Get default: %v %v", got, err)
	}
	if err := s.SetDefault(ctx, "zzz", ActorAdmin); !errors.Is(err, ErrNotFound) {
		t.Fatalf("default to unknown: %v", err)
	}
	// A failed SetDefault changes nothing.
	if got, _ := s.Get(ctx, ""); got == nil || got.Name != "b" {
		t.Fatal("failed SetDefault cleared the default")
	}
}

func TestSecretsNeverInDatabaseBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.db")
	s := openTest(t, Options{Path: path, KeyFile: filepath.Join(dir, "k")})

	const cs, at, rt = "CLIENTSECRET-0123456789abcdef", "ACCESSTOKEN-0123456789abcdef", "REFRESHTOKEN-0123456789abcdef"
	set := msSettings("leak-check")
	set.ClientSecret = secret.New(cs)
	if _, err := s.Create(ctx, set, ActorCLI); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveGrant(ctx, "leak-check", GrantPasted, &provider.Token{
		AccessToken: secret.New(at), RefreshToken: secret.New(rt), ExpiresIn: time.Hour}, ActorCLI); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(path + suffix)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 && suffix == "" {
				t.Fatalf("%s: database file is empty; the check would prove nothing", when)
			}
			for _, v := range []string{cs, at, rt, "0123456789abcdef"} {
				if bytes.Contains(b, []byte(v)) {
					t.Errorf("%s: %s%s contains %q in clear", when, filepath.Base(path), suffix, v)
				}
			}
		}
	}
	// The WAL holds the fresh writes before a checkpoint…
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("expected a non-empty WAL before the checkpoint: %v", err)
	}
	check("before checkpoint")
	// …and the main file after one.
	if _, err := s.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	check("after checkpoint")

	// The values are really there, encrypted.
	got, err := s.Get(ctx, "leak-check")
	if err != nil || got.ClientSecret.Reveal() != cs || got.AccessToken.Reveal() != at || got.RefreshToken.Reveal() != rt {
		t.Fatalf("round trip failed: %v", err)
	}
	// File modes: the store and its key are private.
	for _, p := range []string{path, filepath.Join(dir, "k")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o, want no group/other access", p, fi.Mode().Perm())
		}
	}
}

func TestCiphertextCannotMoveBetweenRowsOrColumns(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	for _, n := range []string{"one", "two"} {
		if _, err := s.Create(ctx, msSettings(n), ActorCLI); err != nil {
			t.Fatal(err)
		}
	}
	// Move row one's sealed secret into row two.
	if _, err := s.db.Exec(`UPDATE tokens SET client_secret = (SELECT client_secret FROM tokens WHERE name = 'one') WHERE name = 'two'`); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "two")
	if err == nil || !strings.Contains(err.Error(), "cannot decrypt") || !strings.Contains(err.Error(), `"two"`) {
		t.Fatalf("moved ciphertext: got %v, want a clear decrypt error naming the token", err)
	}
	// Into another column of the same row.
	if _, err := s.db.Exec(`UPDATE tokens SET access_token = client_secret WHERE name = 'one'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "one"); err == nil || !strings.Contains(err.Error(), "access token") {
		t.Fatalf("moved to another column: got %v", err)
	}
}

func TestKeyHandling(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, keyFile := filepath.Join(dir, "data", "tokens.db"), filepath.Join(dir, "data", "tokens.key")

	s, err := Open(ctx, Options{Path: path, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, msSettings("x"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	id := s.KeyID()
	s.Close()
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file not created 0600: %v %v", fi, err)
	}
	keyText, _ := os.ReadFile(keyFile)

	// Same key: opens, secrets readable.
	s, err = Open(ctx, Options{Path: path, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "x"); err != nil || got.ClientSecret.Reveal() != "client-secret-x" || s.KeyID() != id {
		t.Fatalf("reopen: %v", err)
	}
	s.Close()

	// The key from the environment works the same.
	t.Setenv(database.KeyEnv, string(keyText))
	s, err = Open(ctx, Options{Path: path, KeyFile: filepath.Join(dir, "absent.key")})
	if err != nil {
		t.Fatalf("key from environment: %v", err)
	}
	s.Close()
	t.Setenv(database.KeyEnv, "")

	cases := []struct {
		name string
		opt  Options
		prep func()
		want string
	}{
		{"wrong key", Options{Path: path, Key: database.GenerateKey()}, nil, "is not the key this store was encrypted with"},
		{"wrong key in env", Options{Path: path, KeyFile: keyFile}, func() { t.Setenv(database.KeyEnv, database.GenerateKey()) }, database.KeyEnv},
		{"garbage in env", Options{Path: path, KeyFile: keyFile}, func() { t.Setenv(database.KeyEnv, "not base64!") }, "32 random bytes"},
		{"missing key file", Options{Path: path, KeyFile: filepath.Join(dir, "gone.key")}, nil, "restore the key file"},
		{"no key configured", Options{Path: path}, nil, "TOKEN_STORE_KEY_FILE"},
		{"world-readable key file", Options{Path: path, KeyFile: keyFile}, func() { os.Chmod(keyFile, 0o644) }, "chmod 600"},
		{"damaged key file", Options{Path: path, KeyFile: keyFile}, func() {
			os.Chmod(keyFile, 0o600)
			os.WriteFile(keyFile, []byte("short\n"), 0o600)
		}, "not a mailtokens key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(database.KeyEnv, "")
			if c.prep != nil {
				c.prep()
			}
			s, err := Open(ctx, c.opt)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
	// A failed open never created a key file.
	if _, err := os.Stat(filepath.Join(dir, "gone.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a key file was created for a store that already had a key")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "t.db")
	s := openTest(t, Options{Path: path, KeyFile: filepath.Join(dir, "k")})
	s.Close()
	db, _ := sql.Open("sqlite3", path)
	db.Exec(`PRAGMA user_version = 99`)
	db.Close()
	_, err := Open(ctx, Options{Path: path, KeyFile: filepath.Join(dir, "k")})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("got %v", err)
	}
}

func TestConcurrentFirstOpen(t *testing.T) {
	// Several workers starting at once on a fresh machine must agree on
	// one key and one schema.
	ctx := context.Background()
	dir := t.TempDir()
	opt := Options{Path: filepath.Join(dir, "tokens.db"), KeyFile: filepath.Join(dir, "tokens.key")}
	errs := make(chan error, 6)
	ids := make(chan string, 6)
	for range 6 {
		go func() {
			s, err := Open(ctx, opt)
			if err != nil {
				errs <- err
				return
			}
			ids <- s.KeyID()
			errs <- s.Close()
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		} else if id != first {
			t.Fatalf("processes ended up with different keys: %s vs %s", first, id)
		}
	}
	// The key was written whole beside the store; no temporary file stays.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".key-") {
			t.Errorf("temporary key file %s left behind", e.Name())
		}
	}
}
