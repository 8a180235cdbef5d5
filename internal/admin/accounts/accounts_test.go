package accounts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mailtokens/internal/clock"
	"mailtokens/internal/database"
	"mailtokens/internal/testenv/pgtest"
)

// openTest is accounts in a new database of their own.
func openTest(t *testing.T, now func() time.Time) *Accounts {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{Path: pgtest.StorePath(t, t.TempDir()+"/tokens.db"), Key: database.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db, now)
}

func init() {
	// Tests log in often; the production cost buys nothing here.
	bcryptCost = bcrypt.MinCost
}

func TestAdminAccounts(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, nil)
	if n, _ := s.AdminCount(ctx); n != 0 {
		t.Fatalf("fresh store has %d admins", n)
	}
	for _, bad := range []struct{ name, pw, want string }{
		{"alice", "short", "at least 12"},
		{"alice", "alicealicealice", ""},
		{"-bad", "long enough password", "admin name"},
		{"alice", "AliceAliceAlice1", ""},
		{"aliceaalicea", "aliceaalicea", "not be the account name"},
		{"alice", strings.Repeat("x", 73), "72 bytes"},
	} {
		_, err := s.SetAdminPassword(ctx, bad.name, bad.pw)
		if bad.want == "" {
			continue
		}
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetAdminPassword(%q, %q) = %v, want %q", bad.name, bad.pw, err, bad.want)
		}
	}
	created, err := s.SetAdminPassword(ctx, "bob", "correct horse battery")
	if err != nil || !created {
		t.Fatal(err)
	}
	if _, err := s.CheckAdminLogin(ctx, "bob", "wrong password!!"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := s.CheckAdminLogin(ctx, "nobody", "correct horse battery"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("unknown admin: %v", err)
	}
	a, err := s.CheckAdminLogin(ctx, "BOB", "correct horse battery")
	if err != nil || a.Name != "bob" {
		t.Fatalf("login: %v", err)
	}
	// The hash, not the password, is stored.
	var hash string
	s.db.QueryRow(`SELECT password_hash FROM admins WHERE name = 'bob'`).Scan(&hash)
	if strings.Contains(hash, "horse") || !strings.HasPrefix(hash, "$2") {
		t.Fatalf("stored %q", hash)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	clock := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	s := openTest(t, clock.Now)
	s.SetAdminPassword(ctx, "bob", "correct horse battery")
	a, _ := s.CheckAdminLogin(ctx, "bob", "correct horse battery")
	cookie, sess, err := s.NewSession(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, cookie)
	if err != nil || got.Admin.Name != "bob" || got.CSRF != sess.CSRF || !got.CSRFEqual(sess.CSRF) || got.CSRFEqual("") || got.CSRFEqual("x") {
		t.Fatalf("session: %+v %v", got, err)
	}
	// The database holds only the hash of the cookie.
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM sessions WHERE id_hash = ?`, []byte(cookie)).Scan(&n)
	if n != 0 {
		t.Fatal("cookie value stored in clear")
	}
	// Activity keeps it alive; idleness ends it.
	for range 4 {
		clock.Advance(20 * time.Minute)
		if _, err := s.Session(ctx, cookie); err != nil {
			t.Fatalf("active session expired: %v", err)
		}
	}
	clock.Advance(SessionIdle + time.Second)
	if _, err := s.Session(ctx, cookie); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle session: %v", err)
	}
	// The absolute limit holds even for an active session.
	cookie, _, _ = s.NewSession(ctx, a)
	for i := time.Duration(0); i < SessionMax; i += 20 * time.Minute {
		clock.Advance(20 * time.Minute)
		s.Session(ctx, cookie)
	}
	clock.Advance(time.Minute)
	if _, err := s.Session(ctx, cookie); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session past its maximum: %v", err)
	}
	// Logout and password change end sessions.
	c1, _, _ := s.NewSession(ctx, a)
	c2, _, _ := s.NewSession(ctx, a)
	s.EndSession(ctx, c1)
	if _, err := s.Session(ctx, c1); !errors.Is(err, ErrNoSession) {
		t.Fatal("logged-out session still valid")
	}
	s.SetAdminPassword(ctx, "bob", "another long password")
	if _, err := s.Session(ctx, c2); !errors.Is(err, ErrNoSession) {
		t.Fatal("session survived a password change")
	}
	if _, err := s.Session(ctx, "forged"); !errors.Is(err, ErrNoSession) {
		t.Fatal("forged cookie accepted")
	}
}
