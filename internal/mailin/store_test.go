package mailin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A worker never creates a store: a mistyped TOKEN_STORE stops evmail at
// start-up naming the path, whatever the login, and leaves no empty store
// and no new key behind (it used to create both, then advise adding a
// token in evadmin).
func TestMistypedStoreIsNotCreated(t *testing.T) {
	r := newRig(t)
	for _, auth := range []string{"OAUTH2", "PASSWORD"} {
		typo := filepath.Join(r.Dir, "tokns-"+auth+".db")
		keys := map[string]string{"TOKEN_STORE": typo, "TOKEN_STORE_KEY_FILE": typo + ".key", "MAILBOX_AUTH_TYPE": auth}
		if auth == "PASSWORD" {
			keys["MAILBOX_USER"], keys["MAILBOX_PASSWORD"], keys["MAILBOX_EMAIL_TOKEN_NAME"] = "clerk@contoso.example", "clerk password", ""
		}
		code, log := r.run(r.task("typo", keys))
		if code != 1 || !strings.Contains(log, typo+" does not exist; nothing was created") || !strings.Contains(log, "Only evadmin creates a store") {
			t.Errorf("%s: exit %d\n%s", auth, code, log)
		}
		for _, p := range []string{typo, typo + ".key"} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: evmail created %s (%v)", auth, p, err)
			}
		}
	}
}
