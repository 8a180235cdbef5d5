// Package taskconf loads and checks the programs' .properties files — the
// contract operators edit. Every problem is reported at once, each with
// file:line, the key, what is wrong and what would be right, so a worker
// stops at start-up with the whole list instead of half-running.
package taskconf

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/magiconair/properties"

	"mailtokens/internal/advice"
)

// Problem is one thing wrong with a file.
type Problem struct {
	File    string
	Line    int // 0 when the key is missing from the file
	Key     string
	Message string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line)
	}
	if p.Key == "" {
		return loc + ": " + p.Message
	}
	return loc + ": " + p.Key + ": " + p.Message
}

// Problems is every problem found in a file; as an error it lists them
// one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Advice: the file must be fixed; each problem says what would be right.
func (ps Problems) Advice() (string, advice.Kind) { return "", advice.Misconfigured }

// File is a loaded properties file being read key by key. Readers record
// problems instead of failing, and Err reports them all, with the keys the
// program does not know.
type File struct {
	Path     string
	props    *properties.Properties
	lines    map[string]int
	known    map[string]bool
	problems Problems
	// Warnings are worth logging but do not stop the program.
	Warnings []string
}

// Load reads a properties file. ${...} references are not expanded: in
// magiconair/properties an unknown reference silently becomes an
// environment variable or nothing, which would hide typos.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse is Load for bytes already read.
func Parse(path string, data []byte) (*File, error) {
	l := properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}
	props, err := l.LoadBytes(data)
	if err != nil {
		// The library's message carries "Line N"; say which file.
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "properties: "))
	}
	f := &File{Path: path, props: props, known: map[string]bool{}}
	f.lines, f.problems = indexKeys(path, string(data))
	// The library replaces bytes that are not UTF-8 without a word: a
	// password or a folder name saved in Latin-1 would silently change.
	for i, line := range bytes.Split(data, []byte("\n")) {
		if !utf8.Valid(line) {
			f.problems = append(f.problems, Problem{File: path, Line: i + 1,
				Message: "is not valid UTF-8: save the file as UTF-8 (an editor's \"Latin-1\" or \"Windows-1252\" changes accented letters)"})
		}
	}
	return f, nil
}

func (f *File) problem(key, format string, args ...any) {
	f.problems = append(f.problems, Problem{File: f.Path, Line: f.lines[key], Key: key, Message: fmt.Sprintf(format, args...)})
}

func (f *File) warn(key, format string, args ...any) {
	loc := f.Path
	if n := f.lines[key]; n > 0 {
		loc += ":" + strconv.Itoa(n)
	}
	f.Warnings = append(f.Warnings, loc+": "+key+": "+fmt.Sprintf(format, args...))
}

// Has reports whether key is set (even to an empty value).
func (f *File) Has(key string) bool {
	f.known[key] = true
	_, ok := f.props.Get(key)
	return ok
}

// Values is every key and its value as written: two loads with the same
// values configure the same task, whatever the comments and layout.
func (f *File) Values() map[string]string { return f.props.Map() }

// raw returns the value with surrounding spaces removed.
func (f *File) raw(key string) (string, bool) {
	f.known[key] = true
	v, ok := f.props.Get(key)
	return strings.TrimSpace(v), ok
}

// String returns key's value, or def when it is missing or empty.
func (f *File) String(key, def string) string {
	v, ok := f.raw(key)
	if !ok || v == "" {
		return def
	}
	return v
}

// Secret returns key's value exactly as written (a password may start or
// end with spaces), or "".
func (f *File) Secret(key string) string {
	f.known[key] = true
	v, _ := f.props.Get(key)
	return strings.TrimLeft(v, " \t")
}

// Required returns key's value, recording a problem when it is missing or
// empty. what describes a right value.
func (f *File) Required(key, what string) string {
	v, ok := f.raw(key)
	if !ok {
		f.problem(key, "missing: set it to %s", what)
	} else if v == "" {
		f.problem(key, "is empty: set it to %s", what)
	}
	return v
}

// Enum returns key's value, upper-cased, if it is one of allowed; def when
// missing or empty.
func (f *File) Enum(key, def string, allowed ...string) string {
	v, ok := f.raw(key)
	if !ok || v == "" {
		return def
	}
	up := strings.ToUpper(v)
	for _, a := range allowed {
		if up == a {
			return a
		}
	}
	f.problem(key, "%q is not allowed: use %s", v, orList(allowed))
	return def
}

// RequiredEnum is Enum for a key without a default.
func (f *File) RequiredEnum(key string, allowed ...string) string {
	if v, _ := f.raw(key); v == "" {
		f.problem(key, "missing: set it to %s", orList(allowed))
		return ""
	}
	return f.Enum(key, "", allowed...)
}

// Int returns key's value as an integer in [lo, hi], or def.
func (f *File) Int(key string, def, lo, hi int) int {
	v, ok := f.raw(key)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		f.problem(key, "%q is not a whole number from %d to %d", v, lo, hi)
		return def
	}
	return n
}

// Size returns key's value as a number of bytes, or def: a whole number
// with an optional unit KB, MB or GB (1024, 1024², 1024³; case and a space
// before the unit do not matter), or a bare number of bytes.
func (f *File) Size(key string, def int64) int64 {
	v, ok := f.raw(key)
	if !ok || v == "" {
		return def
	}
	num, unit := v, int64(1)
	upper := strings.ToUpper(v)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(upper, u.suffix) {
			num, unit = strings.TrimSpace(v[:len(v)-len(u.suffix)]), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/unit || strings.HasPrefix(num, "+") {
		f.problem(key, "%q is not a size: write a whole number of bytes, or one with KB, MB or GB, like 100MB (0 for no limit)", v)
		return def
	}
	return n * unit
}

// Duration returns key's value as a Go duration (30s, 5m, 1h) of at least
// lo, or def. A bare number is refused: seconds or milliseconds?
func (f *File) Duration(key string, def, lo time.Duration) time.Duration {
	v, ok := f.raw(key)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		f.problem(key, "%q is not a duration: write it with a unit, like 30s, 5m or 1h", v)
		return def
	}
	if d < lo {
		f.problem(key, "%s is too short: use at least %s", v, lo)
		return def
	}
	return d
}

// Err reports every problem, plus every key the program did not read
// (a typo, or a key of another program), with a guess at the intended key.
func (f *File) Err() error {
	var unknown []string
	for _, k := range f.props.Keys() {
		if !f.known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Slice(unknown, func(i, j int) bool { return f.lines[unknown[i]] < f.lines[unknown[j]] })
	for _, k := range unknown {
		msg := "unknown key"
		if g := closest(k, f.known); g != "" {
			msg += fmt.Sprintf(": did you mean %s?", g)
		} else {
			msg += ": remove it (see the commented example in conf/)"
		}
		f.problems = append(f.problems, Problem{File: f.Path, Line: f.lines[k], Key: k, Message: msg})
	}
	if len(f.problems) == 0 {
		return nil
	}
	sort.SliceStable(f.problems, func(i, j int) bool { return f.problems[i].Line < f.problems[j].Line })
	return f.problems
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// closest returns the known key nearest to k, if near enough to be a typo
// or a missing word (MAILBOX_TOKEN_NAME for MAILBOX_EMAIL_TOKEN_NAME).
func closest(k string, known map[string]bool) string {
	upper := strings.ToUpper(k)
	// A key cut short (MAIL_TOKEN for MAIL_TOKEN_NAME) is further from the
	// whole key than a typo, but plainly meant it.
	var longer []string
	for cand := range known {
		if strings.HasPrefix(cand, upper+"_") {
			longer = append(longer, cand)
		}
	}
	if len(longer) == 1 {
		return longer[0]
	}
	best, bestD := "", max(4, len(upper)/3+1)
	for cand := range known {
		d := editDistance(upper, cand)
		if d < bestD || (d == bestD && cand < best) {
			best, bestD = cand, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
