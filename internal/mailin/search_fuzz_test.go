package mailin

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// FuzzSearchedUIDs: whatever UID set a server sends, searchedUIDs returns
// quickly the lowest UIDs of the set that the folder can hold, in order,
// each once.
func FuzzSearchedUIDs(f *testing.F) {
	pair := func(a, b uint32) []byte {
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, a), b)
	}
	f.Add(append(pair(1, 3), pair(77, math.MaxUint32)...), uint32(0), uint32(78), uint16(3))
	f.Add(pair(1, 4000000000), uint32(0), uint32(0), uint16(100))
	f.Add(append(pair(10, 20), pair(5, 12)...), uint32(6), uint32(0), uint16(50))
	f.Add(append(pair(0, 0), pair(9, 2)...), uint32(math.MaxUint32), uint32(1), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, after, uidNext uint32, limit uint16) {
		var set imap.UIDSet
		for len(data) >= 8 && len(set) < 64 {
			set = append(set, imap.UIDRange{Start: imap.UID(binary.BigEndian.Uint32(data)), Stop: imap.UID(binary.BigEndian.Uint32(data[4:]))})
			data = data[8:]
		}
		lim := int(limit % 1024)
		got := searchedUIDs(set, after, uidNext, lim)
		top := uint32(math.MaxUint32)
		if uidNext > 0 {
			top = uidNext - 1
		}
		// in reports whether u is in the set as searchedUIDs reads it.
		in := func(u uint32) bool {
			for _, r := range set {
				a, b := uint32(r.Start), uint32(r.Stop)
				if a == 0 {
					a = top
				}
				if b == 0 {
					b = top
				}
				if a > b {
					a, b = b, a
				}
				if a <= u && u <= b {
					return true
				}
			}
			return false
		}
		// anyIn reports whether a UID the folder can hold in [lo, hi] is in
		// the set.
		anyIn := func(lo, hi uint64) bool {
			hi = min(hi, uint64(top))
			for _, r := range set {
				a, b := uint64(r.Start), uint64(r.Stop)
				if a == 0 {
					a = uint64(top)
				}
				if b == 0 {
					b = uint64(top)
				}
				if a > b {
					a, b = b, a
				}
				if max(a, lo) <= min(b, hi) {
					return true
				}
			}
			return false
		}
		if len(got) > lim {
			t.Fatalf("%d UIDs, limit %d", len(got), lim)
		}
		prev := uint64(after)
		for _, u := range got {
			if uint64(u) <= prev || uint32(u) > top || !in(uint32(u)) {
				t.Fatalf("UID %d out of place in %v (after %d, top %d)", u, got, after, top)
			}
			if anyIn(prev+1, uint64(u)-1) {
				t.Fatalf("a UID between %d and %d was skipped: %v of %v", prev, u, got, set)
			}
			prev = uint64(u)
		}
		if len(got) < lim && anyIn(prev+1, math.MaxUint32) {
			t.Fatalf("UIDs above %d left out with room to spare: %v of %v", prev, got, set)
		}
	})
}
