// Package testenv lets tests that need programs from outside Go (Dovecot,
// Postfix's smtp-sink, Chromium) skip on a developer's machine that lacks
// them, and fail instead where they must run: CI sets
// MAILTOKENS_REQUIRE_ALL=1.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireAllEnv, when "1", turns every skip for a missing program into a
// failure.
const RequireAllEnv = "MAILTOKENS_REQUIRE_ALL"

// Missing skips t — or fails it under MAILTOKENS_REQUIRE_ALL=1 — saying
// what is missing and how to install it.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	msg := what + " is not available (install: " + install + ")"
	if os.Getenv(RequireAllEnv) == "1" {
		t.Fatalf("%s, and %s=1 requires it", msg, RequireAllEnv)
	}
	t.Skip(msg)
}

// LookPath returns the path of program, or skips/fails t as Missing does.
func LookPath(t testing.TB, program, install string, alternatives ...string) string {
	t.Helper()
	if path, ok := Find(program, alternatives...); ok {
		return path
	}
	Missing(t, program, install)
	return ""
}

// Find looks for program on $PATH, then for each alternative (a name on
// $PATH or a path).
func Find(program string, alternatives ...string) (string, bool) {
	for _, p := range append([]string{program}, alternatives...) {
		if path, err := exec.LookPath(p); err == nil {
			return path, true
		}
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}
