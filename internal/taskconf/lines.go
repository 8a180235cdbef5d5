package taskconf

import (
	"fmt"
	"strconv"
	"strings"
)

// indexKeys finds the line each key is set on, following the .properties
// rules magiconair/properties follows (comments with # or !, continuation
// lines ending in an odd number of backslashes, keys ending at an unescaped
// '=', ':' or blank). The library gives values but no positions; operators
// need "file:line". A key set twice is a problem: the library silently
// keeps the last one, and the operator may have edited the other.
func indexKeys(path, text string) (map[string]int, Problems) {
	lines := map[string]int{}
	var problems Problems
	physical := splitLines(text)
	for i := 0; i < len(physical); i++ {
		start := i + 1
		line := strings.TrimLeft(physical[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// Join continuation lines.
		logical := line
		for endsWithOddBackslashes(logical) && i+1 < len(physical) {
			i++
			logical = logical[:len(logical)-1] + strings.TrimLeft(physical[i], " \t\f")
		}
		key := readKey(logical)
		if prev, dup := lines[key]; dup {
			problems = append(problems, Problem{File: path, Line: start, Key: key,
				Message: fmt.Sprintf("set twice (also on line %d): keep one", prev)})
		}
		// The library keeps the last value, so problems with the value
		// point at the last line.
		lines[key] = start
	}
	return lines, problems
}

func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

func endsWithOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// readKey returns the unescaped key at the start of a logical line.
func readKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '=', ':', ' ', '\t', '\f':
			return b.String()
		case '\\':
			if i+1 >= len(s) {
				return b.String()
			}
			i++
			switch s[i] {
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				end := i + 1
				for end < len(s) && end < i+5 && strings.IndexByte("0123456789abcdefABCDEF", s[end]) >= 0 {
					end++
				}
				v, _ := strconv.ParseUint(s[i+1:end], 16, 32)
				b.WriteRune(rune(v))
				i = end - 1
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
