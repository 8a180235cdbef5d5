package idp

import (
	"html"
	"strings"
)

// A small reader for the sandbox's own HTML, used by the test helpers that
// drive the pages like a browser (SignIn, ApproveDevice). It understands
// start tags and their attributes — enough to find forms, their fields and
// buttons, and an element's text — and nothing more. The standard library
// has no HTML parser; the pages are ours and simple, so this is enough.

// htmlTag is a start or end tag found in a document.
type htmlTag struct {
	name  string            // lowercase; "/form" for an end tag
	attrs map[string]string // lowercase names, unescaped values
	end   int               // offset just after the closing '>'
}

// parseTags lists the tags of doc in order. Comments are skipped; text is
// left where it is (see textAfter).
func parseTags(doc string) []htmlTag {
	var tags []htmlTag
	i := 0
	for {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			return tags
		}
		i += lt + 1
		if strings.HasPrefix(doc[i:], "!--") {
			end := strings.Index(doc[i+3:], "-->")
			if end < 0 {
				return tags
			}
			i += 3 + end + 3
			continue
		}
		j := i
		if j < len(doc) && doc[j] == '/' {
			j++
		}
		for j < len(doc) && isTagNameByte(doc[j]) {
			j++
		}
		if j == i || (doc[i] == '/' && j == i+1) {
			continue // "<" that does not start a tag
		}
		t := htmlTag{name: strings.ToLower(doc[i:j]), attrs: map[string]string{}}
		i = parseAttrs(doc, j, t.attrs)
		t.end = i
		tags = append(tags, t)
	}
}

func isTagNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// parseAttrs reads attributes from doc[i:] up to the tag's '>' and returns
// the offset after it (len(doc) if the tag is not closed).
func parseAttrs(doc string, i int, attrs map[string]string) int {
	for i < len(doc) {
		for i < len(doc) && (isSpace(doc[i]) || doc[i] == '/') {
			i++
		}
		if i >= len(doc) {
			break
		}
		if doc[i] == '>' {
			return i + 1
		}
		start := i
		for i < len(doc) && !isSpace(doc[i]) && doc[i] != '=' && doc[i] != '>' && doc[i] != '/' {
			i++
		}
		name := strings.ToLower(doc[start:i])
		for i < len(doc) && isSpace(doc[i]) {
			i++
		}
		value := ""
		if i < len(doc) && doc[i] == '=' {
			i++
			for i < len(doc) && isSpace(doc[i]) {
				i++
			}
			if i < len(doc) && (doc[i] == '"' || doc[i] == '\'') {
				q := doc[i]
				i++
				end := strings.IndexByte(doc[i:], q)
				if end < 0 {
					end = len(doc) - i
				}
				value = doc[i : i+end]
				i = min(i+end+1, len(doc))
			} else {
				vs := i
				for i < len(doc) && !isSpace(doc[i]) && doc[i] != '>' {
					i++
				}
				value = doc[vs:i]
			}
		}
		if _, dup := attrs[name]; name != "" && !dup {
			attrs[name] = html.UnescapeString(value)
		}
	}
	return len(doc)
}

// textAfter returns the unescaped text between a tag and the next tag.
func textAfter(doc string, t htmlTag) string {
	rest := doc[min(t.end, len(doc)):]
	if lt := strings.IndexByte(rest, '<'); lt >= 0 {
		rest = rest[:lt]
	}
	return strings.Join(strings.Fields(html.UnescapeString(rest)), " ")
}

// elementText returns the text of the first element with the given id.
func elementText(doc, id string) (string, bool) {
	for _, t := range parseTags(doc) {
		if t.attrs["id"] == id {
			return textAfter(doc, t), true
		}
	}
	return "", false
}

// elementAttr returns an attribute of the first element with the given id.
func elementAttr(doc, id, attr string) string {
	for _, t := range parseTags(doc) {
		if t.attrs["id"] == id {
			return t.attrs[attr]
		}
	}
	return ""
}

// htmlForm is a form as a browser would submit it.
type htmlForm struct {
	action, method string
	fields         []hiddenField // inputs in document order, with their values
	buttons        []hiddenField // named submit buttons
}

// parseForms lists the forms of doc.
func parseForms(doc string) []htmlForm {
	var forms []htmlForm
	var cur *htmlForm
	for _, t := range parseTags(doc) {
		switch t.name {
		case "form":
			forms = append(forms, htmlForm{action: t.attrs["action"], method: strings.ToLower(t.attrs["method"])})
			cur = &forms[len(forms)-1]
		case "/form":
			cur = nil
		case "input":
			if cur == nil || t.attrs["name"] == "" {
				continue
			}
			if typ := strings.ToLower(t.attrs["type"]); typ == "submit" {
				cur.buttons = append(cur.buttons, hiddenField{t.attrs["name"], t.attrs["value"]})
			} else {
				cur.fields = append(cur.fields, hiddenField{t.attrs["name"], t.attrs["value"]})
			}
		case "button":
			if cur == nil || t.attrs["name"] == "" {
				continue
			}
			if typ := strings.ToLower(t.attrs["type"]); typ == "" || typ == "submit" {
				cur.buttons = append(cur.buttons, hiddenField{t.attrs["name"], t.attrs["value"]})
			}
		}
	}
	return forms
}
