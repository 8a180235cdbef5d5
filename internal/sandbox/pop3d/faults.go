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
	dropAt int           // bytes of that RETR's reply sent before the cut; -1 = about half
	hangOn string        // a session that receives this verb stops answering
	hang   bool          // hangOn is set ("" means before the greeting)
	slow   time.Duration // delay before every reply
}

// DropAfter makes the server cut the connection in the middle of the n-th
// RETR from now (counting every session): the +OK and about half of the
// message are sent, then the connection closes without the terminating
// ".". Nothing is committed, as for any connection that ends without QUIT.
// n <= 0 switches it off.
func (s *Server) DropAfter(n int) { s.DropAt(n, -1) }

// DropAt is DropAfter with the cut placed exactly: the first offset bytes
// of the reply as it goes on the wire (the +OK line, the dot-stuffed
// message, the terminating ".\r\n") are sent, then the connection closes.
// An offset at or past the reply's end sends it whole and closes the
// connection before the next command. A negative offset cuts about half
// way through the message, as DropAfter does.
func (s *Server) DropAt(n, offset int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.dropIn = max(n, 0)
	s.faults.dropAt = offset
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

// dropThisRetr counts a RETR against DropAt and says whether to cut it,
// and where.
func (s *Server) dropThisRetr() (cut bool, offset int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.dropIn == 0 {
		return false, 0
	}
	s.faults.dropIn--
	return s.faults.dropIn == 0, s.faults.dropAt
}
