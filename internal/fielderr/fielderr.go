// Package fielderr collects validation problems per input field, so that a
// form can show each message beside its field and a command line can print
// them all at once, instead of stopping at the first.
//
// Problems name their field by a stable identifier ("name", "client_id"),
// never by what an interface calls it: the admin's forms map identifiers to
// the labels they show, the command line to its flags (see [List.Rename]).
package fielderr

import "strings"

// Error is one problem with one field.
type Error struct {
	Field   string // the field's identifier, e.g. "tenant"; see the package doc
	Message string // what is wrong and what would be right
}

// List is every problem found in one input. A nil or empty List is no error.
type List []Error

// Add records a problem.
func (l *List) Add(field, message string) { *l = append(*l, Error{field, message}) }

// Err returns the list as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Error lists every problem, one per line, each after its field.
func (l List) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Field)
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// For returns the message for a field, or "" when the field is fine.
func (l List) For(field string) string {
	for _, e := range l {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// Rename returns a copy of the list with each field identifier replaced by
// what names calls it (a flag, a label), for printing; identifiers names
// does not know stay as they are.
func (l List) Rename(names map[string]string) List {
	out := make(List, len(l))
	for i, e := range l {
		if n, ok := names[e.Field]; ok {
			e.Field = n
		}
		out[i] = e
	}
	return out
}
