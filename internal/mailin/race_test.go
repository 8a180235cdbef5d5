//go:build race

package mailin

// raceEnabled: the race detector multiplies a process's memory.
const raceEnabled = true
