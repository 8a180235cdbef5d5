package tokenstore

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
)

// Refresh now is asked for by a person, who must hear that it failed even
// when the old access token is still good for a while; workers keep
// using that token as before.
func TestRefreshNowReportsTemporaryFailure(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	old := w.authorized(t, "ms", provider.Microsoft)
	w.IDP.InjectFault(idp.Fault{Kind: idp.FaultStatus500})

	_, err := w.store.Source("ms", ActorCLI).Refresh(ctx)
	var rf *RefreshFailingError
	if !errors.As(err, &rf) || kindOf(err) != advice.Temporary {
		t.Fatalf("Refresh with the provider failing = %v, want a RefreshFailingError", err)
	}
	if !strings.Contains(err.Error(), "500") {
		t.Fatalf("error %q does not say what the provider answered", err)
	}
	a, err := w.store.Source("ms", ActorEvmail).Token(ctx)
	if err != nil || !a.Token.Equal(old.AccessToken) {
		t.Fatalf("a worker after the failed Refresh now: %v; want the still-valid token", err)
	}
}

// A failure is stored as what it was (no answer, an answer that is not
// OAuth2, an OAuth2 error), so the status, the explanation and whether it
// is retried agree, also after reading it back; provider text is capped.
func TestStoredErrorsKeepWhatTheyWere(t *testing.T) {
	huge := `{"error":"invalid_grant","error_description":"` + strings.Repeat("é", 450_000) + `"}`
	cases := []struct {
		name     string
		answer   http.HandlerFunc // nil: nothing listens
		code     string
		status   int
		kind     advice.Kind
		tokState Status
		words    string
	}{
		{"proxy HTML page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("<html><body>Access denied by proxy</body></html>"))
		}, ErrorHTTP, 403, advice.Misconfigured, StatusNeedsAuthorization, "token URL"},
		{"404", http.NotFound, ErrorHTTP, 404, advice.Misconfigured, StatusNeedsAuthorization, "token URL"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://login.example.com/", http.StatusFound)
		}, ErrorHTTP, 302, advice.Misconfigured, StatusNeedsAuthorization, "token URL"},
		{"empty 400", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
		}, ErrorHTTP, 400, advice.Reauthorize, StatusNeedsAuthorization, "Get Email Token"},
		{"connection refused", nil, ErrorNetwork, 0, advice.Temporary, StatusRefreshFailing, "retried"},
		{"900 KB description", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(huge))
		}, "invalid_grant", 400, advice.Reauthorize, StatusNeedsAuthorization, "sign in again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			w.authorized(t, "ms", provider.Microsoft)
			set := w.settings("ms", provider.Microsoft)
			good := set.TokenURL
			set.TokenURL = badURL(t, c.answer)
			if _, err := w.store.Update(ctx, "ms", set, ActorAdmin); err != nil {
				t.Fatal(err)
			}
			w.age(time.Hour)
			if _, err := w.store.Source("ms", ActorEvmail).Token(ctx); err == nil {
				t.Fatal("refresh against a broken token URL succeeded")
			}
			// Read back, as another process would.
			got, err := w.open(t).Get(ctx, "ms")
			if err != nil {
				t.Fatal(err)
			}
			e := got.LastError
			if e.Code != c.code || e.HTTPStatus != c.status || e.Kind != c.kind || got.Status != c.tokState || e.Op != OpRefresh {
				t.Fatalf("stored code %q, HTTP %d, kind %v, op %q with status %s; want code %q, HTTP %d, kind %v, status %s",
					e.Code, e.HTTPStatus, e.Kind, e.Op, got.Status, c.code, c.status, c.kind, c.tokState)
			}
			explained := got.Explain()
			if !strings.Contains(explained, c.words) {
				t.Fatalf("explanation %.300q lacks %q", explained, c.words)
			}
			if retried := strings.Contains(explained, "retried"); retried != (c.tokState == StatusRefreshFailing) {
				t.Fatalf("status %s but the explanation says %.300q", got.Status, explained)
			}
			if len(e.Text) > maxStoredText || !utf8.ValidString(e.Text) {
				t.Fatalf("stored text is %d bytes (valid UTF-8: %v), cap %d", len(e.Text), utf8.ValidString(e.Text), maxStoredText)
			}
			ev, _ := w.store.Events(ctx, "ms", 5)
			for _, x := range ev {
				if len(x.Text) > maxStoredText {
					t.Fatalf("event %s keeps %d bytes of text", x.Kind, len(x.Text))
				}
			}
			if c.kind != advice.Misconfigured {
				return
			}
			// Fixing the URL un-parks the token: it refreshes again.
			set.TokenURL = good
			fixed, err := w.store.Update(ctx, "ms", set, ActorAdmin)
			if err != nil || fixed.Status != StatusValid {
				t.Fatalf("after fixing the token URL: status %v, %v", fixed.Status, err)
			}
			if _, err := w.store.Source("ms", ActorEvmail).Token(ctx); err != nil {
				t.Fatalf("refresh with the fixed URL: %v", err)
			}
		})
	}
}

// badURL serves answer on loopback, or names a port nothing listens on.
func badURL(t *testing.T, answer http.HandlerFunc) string {
	t.Helper()
	if answer != nil {
		srv := httptest.NewServer(answer)
		t.Cleanup(srv.Close)
		return srv.URL + "/token"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/token"
}
