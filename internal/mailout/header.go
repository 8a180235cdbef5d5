package mailout

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// maxHeaderBytes bounds the header section batchmail reads into memory. A
// header section larger than this is not mail an application meant to send.
const maxHeaderBytes = 1 << 20

// field is one header field as it stands in the message file.
type field struct {
	// Name is the field name as written, without blanks before the colon.
	Name string
	// Value is the unfolded value: everything after the colon, with the
	// line ends before continuation lines removed (RFC 5322 §2.2.3).
	Value string
	// Start and End delimit the field's bytes in the file, its first line
	// to the line end of its last continuation line; End is exclusive.
	Start, End int64
}

// header is a message's header section.
type header struct {
	Fields []field
	// Size is the length of the header section, including the empty line
	// that ends it; the body starts there. A message without a body has no
	// empty line, and Size is the whole file.
	Size int64
}

// FormatError says why a file is not a message batchmail can send.
type FormatError struct {
	Line   int // 0 when the problem is not one line's
	Reason string
}

func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("not an RFC 5322 message: line %d: %s", e.Line, e.Reason)
	}
	return "not an RFC 5322 message: " + e.Reason
}

func formatErr(line int, format string, args ...any) error {
	return &FormatError{Line: line, Reason: fmt.Sprintf(format, args...)}
}

// readHeader reads the header section from r, which must start at the
// message's first byte. Line ends may be CRLF or LF. It reads at most
// maxHeaderBytes (plus what bufio reads ahead).
func readHeader(r io.Reader) (*header, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxHeaderBytes+1), 16<<10)
	h := &header{}
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read the header: %w", err)
		}
		if len(line) == 0 { // the file ends after a complete line
			break
		}
		start := off
		off += int64(len(line))
		if off > maxHeaderBytes {
			return nil, formatErr(0, "the header section is larger than %d bytes", maxHeaderBytes)
		}
		content := trimEOL(line)
		if len(content) == 0 {
			if lineNo == 1 {
				return nil, formatErr(1, "the message starts with an empty line, so it has no header fields")
			}
			break // the empty line that ends the header section
		}
		if content[0] == ' ' || content[0] == '\t' {
			if len(h.Fields) == 0 {
				return nil, formatErr(lineNo, "starts with a blank, but there is no header field before it to continue")
			}
			f := &h.Fields[len(h.Fields)-1]
			f.Value += string(content)
			f.End = off
		} else {
			colon := bytes.IndexByte(content, ':')
			var name []byte
			if colon >= 0 {
				name = bytes.TrimRight(content[:colon], " \t")
			}
			if !validFieldName(name) {
				hint := ""
				if bytes.HasPrefix(content, []byte("From ")) && lineNo == 1 {
					hint = " (an mbox \"From \" line: remove it)"
				}
				return nil, formatErr(lineNo, "%q is neither a header field (Name: value) nor the empty line that ends the header%s", clip(content), hint)
			}
			h.Fields = append(h.Fields, field{Name: string(name), Value: string(content[colon+1:]), Start: start, End: off})
		}
		if err == io.EOF {
			break
		}
	}
	h.Size = off
	if len(h.Fields) == 0 {
		return nil, formatErr(0, "the file is empty")
	}
	return h, nil
}

// trimEOL removes a trailing LF or CRLF.
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// validFieldName: printable US-ASCII except colon (RFC 5322 §3.6.8).
func validFieldName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// clip shortens what an error message quotes from a line.
func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// get returns the unfolded value of the first field named name.
func (h *header) get(name string) (string, bool) {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// recipientFields are the fields whose addresses become envelope
// recipients. Resent-* fields are left alone: batchmail sends new mail, it
// does not redistribute.
var recipientFields = []string{"To", "Cc", "Bcc"}

// blindFields are never transmitted: their addresses go in the envelope
// only.
var blindFields = []string{"Bcc", "Resent-Bcc"}

func isOneOf(name string, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// addressParser parses address lists without caring about the character
// sets of encoded display names: only the addresses matter here, and an
// unknown charset must not make a message unsendable.
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, input io.Reader) (io.Reader, error) { return input, nil },
}}

// recipients returns the envelope recipients: every address in To, Cc and
// Bcc, in order, each once (compared without regard to case). Groups and
// display names are handled by net/mail (an empty group such as
// "undisclosed-recipients:;" gives no address); an empty field is allowed
// (an empty Bcc is common).
func (h *header) recipients() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range h.Fields {
		if !isOneOf(f.Name, recipientFields) || strings.TrimSpace(f.Value) == "" {
			continue
		}
		list, err := addressParser.ParseList(f.Value)
		if err != nil {
			return nil, formatErr(0, "the %s field %q does not parse as an address list: %v", f.Name, clipString(strings.TrimSpace(f.Value)), err)
		}
		for _, a := range list {
			if err := checkAddress(a.Address); err != nil {
				return nil, formatErr(0, "the %s field: %v", f.Name, err)
			}
			key := strings.ToLower(a.Address)
			if !seen[key] {
				seen[key] = true
				out = append(out, a.Address)
			}
		}
	}
	return out, nil
}

func clipString(s string) string { return clip([]byte(s)) }

// checkAddress refuses what would break the SMTP command line or cannot be
// delivered: an address must have a local part and a domain, and no line
// breaks, blanks outside quotes or angle brackets.
func checkAddress(a string) error {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return fmt.Errorf("%q is not an address with a local part and a domain", a)
	}
	if strings.ContainsAny(a[at:], " \t\r\n<>\"") || strings.ContainsAny(a, "\r\n\x00") {
		return fmt.Errorf("%q cannot be sent in an SMTP command", a)
	}
	if !strings.HasPrefix(a, "\"") && strings.ContainsAny(a[:at], " \t<>") {
		return fmt.Errorf("%q cannot be sent in an SMTP command", a)
	}
	return nil
}

// keptRanges returns the byte ranges of a file of size bytes that are
// transmitted: everything but the blind fields (Bcc) with their
// continuation lines.
func (h *header) keptRanges(size int64) [][2]int64 {
	var out [][2]int64
	var pos int64
	for _, f := range h.Fields {
		if !isOneOf(f.Name, blindFields) {
			continue
		}
		if f.Start > pos {
			out = append(out, [2]int64{pos, f.Start})
		}
		pos = f.End
	}
	if size > pos {
		out = append(out, [2]int64{pos, size})
	}
	return out
}
