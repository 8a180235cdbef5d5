//go:build !unix

package mailout

// Lock does nothing where flock is missing: run one batchmail per spool.
func (s *Spool) Lock() (unlock func(), err error) { return func() {}, nil }
