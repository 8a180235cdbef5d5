package pop3d

import (
	"strings"
	"time"
)

// Faults that tests switch on to see how a client copes with a server that
// breaks, stalls or crawls. They apply to every session from the moment
// they are set.

type faults struct {
	dropIn int           // the dropIn-th RETR from now is cut off; 0 = none
	hangOn string        // a session that receives this verb stops answering
	hang   bool          // hangOn is set ("" means before the greeting)
	slow   time.Duration // delay before every reply
}

// DropAfter makes the server cut the connection in the middle of the n-th
// RETR from now (counting every session): the +OK and about half of the
// message are sent, then the connection closes without the terminating
// ".". Nothing is committed, as for any connection that ends without QUIT.
// n <= 0 switches it off.
func (s *Server) DropAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.dropIn = max(n, 0)
}

// HangOn makes every session that receives the command verb (say "STAT")
// stop answering: it reads and discards whatever else comes and never
// replies, until the client leaves or the Server closes. The empty verb
// hangs before the greeting. It lets a test check that a client gives up
// on a silent server instead of waiting forever.
func (s *Server) HangOn(verb string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.hangOn, s.faults.hang = strings.ToUpper(verb), true
}

// Slow delays every reply by d; 0 switches it off.
func (s *Server) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.slow = d
}

// ClearFaults switches every fault off.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faults{}
}

func (s *Server) hangsOn(verb string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.hang && s.faults.hangOn == verb
}

func (s *Server) slowness() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.slow
}

// dropThisRetr counts a RETR against DropAfter and says whether to cut it.
func (s *Server) dropThisRetr() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.dropIn == 0 {
		return false
	}
	s.faults.dropIn--
	return s.faults.dropIn == 0
}
