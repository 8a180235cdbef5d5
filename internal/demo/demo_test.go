package demo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailtokens/internal/sandbox/dovecot"
)

// TestSetupWithoutDovecot: where Dovecot cannot run, Setup with Dovecot
// says what to install and leaves the earlier demo as it was.
func TestSetupWithoutDovecot(t *testing.T) {
	// Not parallel: it replaces dovecotMissing.
	dovecotMissing = func() error {
		return &dovecot.MissingError{What: "dovecot-pop3d", Remedy: "apt-get install dovecot-pop3d"}
	}
	t.Cleanup(func() { dovecotMissing = dovecot.Missing })
	dir := t.TempDir()
	earlier := map[string]string{marker: "made by `make demo`\n", "tokens.db": "the earlier demo's store"}
	for name, text := range earlier {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	w, err := Setup(Options{Dir: dir, Listen: "127.0.0.1:0", Dovecot: true})
	if err == nil {
		w.Close()
		t.Fatal("Setup succeeded without Dovecot")
	}
	if _, ok := errors.AsType[*dovecot.MissingError](err); !ok || !strings.Contains(err.Error(), "apt-get install dovecot-pop3d") {
		t.Errorf("error %q does not say what to install", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(earlier) {
		t.Errorf("the demo directory holds %d entries, want the %d of the earlier demo", len(entries), len(earlier))
	}
	for name, text := range earlier {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(data) != text {
			t.Errorf("%s changed: %q, %v", name, data, err)
		}
	}
}
