package taskconf

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// FuzzParse: any file either fails to parse with an error, or parses; the
// line index finds every plain key the library finds, on a line that holds
// that key.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"A=1\nB = 2\n", "# c\n! c\nA:1\n", "A \\\n  = continued\nB=2", "A=1\r\nB=2\rC=3",
		"A\\=B=1", "\\u0041=1", "A=${B}\nB=x", "  A   1\n", "A=\\\n", "A=1\nA=2\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		file, err := Parse("fuzz.properties", []byte(text))
		if err != nil {
			return
		}
		lines := splitLines(text)
		for _, k := range file.props.Keys() {
			if !plainKey.MatchString(k) || strings.Contains(text, "\\") {
				continue
			}
			n := file.lines[k]
			if n < 1 || n > len(lines) {
				t.Fatalf("key %q: line %d out of range", k, n)
			}
			if !strings.Contains(lines[n-1], k) {
				t.Fatalf("key %q indexed at line %d: %q", k, n, lines[n-1])
			}
		}
		_ = file.Err()
	})
}

// FuzzSplitCommand: never panics; quoting each word and splitting again
// gives the words back.
func FuzzSplitCommand(f *testing.F) {
	for _, seed := range []string{`a b`, `"a b" 'c'`, `a\ b`, `'`, `"\"`, "a\tb"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitCommand(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, a := range args {
			quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
		again, err := SplitCommand(strings.Join(quoted, " "))
		if err != nil || !slices.Equal(again, args) {
			t.Fatalf("round trip of %q: %q -> %q (%v)", s, args, again, err)
		}
	})
}
