package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/database"
	"mailtokens/internal/syncbuf"
	"mailtokens/internal/testenv/pgtest"
	"mailtokens/internal/tokenstore"
)

// /healthz follows PostgreSQL: 503 with the store "unreachable" while the
// server is down, 200 again once it is back, without restarting evadmin.
func TestHealthzFollowsTheDatabase(t *testing.T) {
	srv := pgtest.NewServer(t)
	st, err := tokenstore.Open(context.Background(), tokenstore.Options{Path: srv.URL(t), Key: database.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := &syncbuf.Buffer{}
	s, err := New(Config{PublicURL: "http://127.0.0.1:8080", Logger: slog.New(slog.NewTextHandler(log, nil))}, st)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type answer struct{ Status, Store, Engine, Key, Error string }
	healthz := func() (int, answer) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		var a answer
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("healthz: %v\n%s", err, rec.Body)
		}
		return rec.Code, a
	}
	if code, a := healthz(); code != http.StatusOK || a.Store != "ok" || a.Engine != "PostgreSQL" || a.Key != "matches" {
		t.Fatalf("healthz at first: %d %+v", code, a)
	}
	srv.Stop(t)
	if code, a := healthz(); code != http.StatusServiceUnavailable || a.Store != "unreachable" || a.Status != "unavailable" {
		t.Fatalf("healthz while PostgreSQL is down: %d %+v", code, a)
	} else if a.Error != "the database does not answer; evadmin's log has the details" {
		// Anyone may ask /healthz: pgx's error names the user, host and
		// port; those go to the log only.
		t.Fatalf("healthz tells an anonymous caller %q", a.Error)
	}
	if !strings.Contains(log.String(), "healthz: the store cannot be read") || strings.Count(log.String(), "cannot be read") != 1 {
		t.Fatalf("the log does not hold the error once:\n%s", log)
	}
	healthz() // the same error again: not logged again
	if n := strings.Count(log.String(), "cannot be read"); n != 1 {
		t.Fatalf("the same error logged %d times", n)
	}
	srv.Start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, a := healthz()
		if code == http.StatusOK && a.Store == "ok" {
			if !strings.Contains(log.String(), "the store answers again") {
				t.Fatalf("the recovery is not logged:\n%s", log)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz after PostgreSQL came back: %d %+v", code, a)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
