//go:build !unix

package database

// deadHere cannot ask other processes here: leases run out.
func deadHere(string) bool { return false }
