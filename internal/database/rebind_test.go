package database

import "testing"

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`UPDATE t SET a = ?, b = ? WHERE id = ?`, `UPDATE t SET a = $1, b = $2 WHERE id = $3`},
		{`SELECT '?' || ? FROM t WHERE s = 'it''s?' AND x = ?`, `SELECT '?' || $1 FROM t WHERE s = 'it''s?' AND x = $2`},
		{`SELECT "a?b" FROM t WHERE c = ? -- why?
AND d = ?`, `SELECT "a?b" FROM t WHERE c = $1 -- why?
AND d = $2`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzRebind(f *testing.F) {
	f.Add(`UPDATE t SET a = ? WHERE s = 'x?''y' -- ?`)
	f.Fuzz(func(t *testing.T, q string) {
		out := rebind(q)
		if len(out) < len(q) {
			t.Fatalf("rebind lost text: %q -> %q", q, out)
		}
	})
}
