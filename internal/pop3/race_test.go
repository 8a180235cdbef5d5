//go:build race

package pop3_test

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
