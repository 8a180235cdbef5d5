//go:build race

package mailin

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
