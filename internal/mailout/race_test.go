//go:build race

package mailout

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
