package admin

import (
	"net/url"
	"strings"
	"unicode"
)

// safeNext keeps a post-login redirect on this site: a plain absolute
// path (with a query), never "//evil.example" or a full URL. Browsers drop
// tabs and newlines from a Location and treat a backslash as a slash, so
// "/\t/evil.example" and "/\evil.example" lead elsewhere: any control,
// space or backslash is refused, not cleaned.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for _, r := range next {
		if r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || r > unicode.MaxASCII {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}
