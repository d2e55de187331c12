package contacts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	unicodeenc "golang.org/x/text/encoding/unicode"
)

// Format is the kind of address book file.
type Format string

// Formats Parse reads.
const (
	LinkedIn Format = "linkedin" // LinkedIn's Connections.csv
	Google   Format = "google"   // Google Contacts CSV, the current and the older export
	VCard    Format = "vcard"    // vCard 2.1, 3.0 or 4.0 (.vcf)
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case LinkedIn, Google, VCard:
		return f, nil
	case "vcf":
		return VCard, nil
	}
	return "", fmt.Errorf("unknown format %q: want linkedin, google or vcard", s)
}

// Record is one person read from a file.
type Record struct {
	Line   int      // line of the file where the person starts
	Name   string   // display name; may be empty when there is an email
	Emails []string // lower-cased, validated, first is preferred; may be empty
	Org    string
	Role   string
	Note   string
	Tags   []string
	URL    string
}

// RowError is a row that could not be read; the rest of the file still is.
type RowError struct {
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *RowError) Unwrap() error { return e.Err }

// MarshalJSON writes {"line": 12, "error": "..."}.
func (e *RowError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	}{e.Line, e.Err.Error()})
}

// ErrUnknownFormat is returned by Detect when neither the name nor the content tells.
var ErrUnknownFormat = errors.New("unknown contacts format")

// Detect tells the format of a file from its name and its first bytes (a few
// kilobytes are plenty).
func Detect(name string, head []byte) (Format, error) {
	text := strings.TrimLeftFunc(decodeText(head), unicode.IsSpace)
	upper := strings.ToUpper(text)
	switch {
	case strings.HasPrefix(upper, "BEGIN:VCARD"):
		return VCard, nil
	case strings.Contains(text, "E-mail 1 - Value") || strings.Contains(text, "Group Membership") ||
		strings.Contains(text, "Organization Name") && strings.Contains(text, "Labels"):
		return Google, nil
	case strings.Contains(text, "First Name,Last Name") && (strings.Contains(text, "Connected On") || strings.HasPrefix(text, "Notes:")):
		return LinkedIn, nil
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".vcf", ".vcard":
		return VCard, nil
	}
	if strings.EqualFold(filepath.Base(name), "Connections.csv") {
		return LinkedIn, nil
	}
	return "", fmt.Errorf("%w: %s is not a LinkedIn Connections.csv, a Google Contacts CSV or a vCard file", ErrUnknownFormat, name)
}

// Parse reads every record of r in format f. bad lists the rows that could not be
// read (a bad email address, a line break in a name); err is set only when the
// file as a whole cannot be read.
func Parse(r io.Reader, f Format) (recs []Record, bad []*RowError, err error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read contacts: %w", err)
	}
	text := decodeText(data)
	switch f {
	case LinkedIn:
		return parseLinkedIn(text)
	case Google:
		return parseGoogle(text)
	case VCard:
		return parseVCard(text)
	}
	return nil, nil, fmt.Errorf("unknown format %q: want linkedin, google or vcard", f)
}

// decodeText turns the file into UTF-8 text without a BOM: UTF-16 with a BOM
// (older Google exports) is decoded, and bytes that are not UTF-8 are read as
// Windows-1252 (CSV files saved by Excel).
func decodeText(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}), bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		dec := unicodeenc.UTF16(unicodeenc.LittleEndian, unicodeenc.UseBOM).NewDecoder()
		if out, err := dec.Bytes(data); err == nil {
			return strings.TrimPrefix(string(out), "\ufeff")
		}
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		data = data[3:]
	}
	if !utf8.Valid(data) {
		if out, err := charmap.Windows1252.NewDecoder().Bytes(data); err == nil {
			return string(out)
		}
		return strings.ToValidUTF8(string(data), "\ufffd")
	}
	return string(data)
}

// builder collects one record's fields and checks them.
type builder struct {
	rec  Record
	errs []error
}

func (b *builder) name(parts ...string) {
	var words []string
	for _, p := range parts {
		if hasLineBreak(p) {
			b.errs = append(b.errs, fmt.Errorf("name %q contains a line break", p))
			return
		}
		if p = strings.TrimSpace(p); p != "" {
			words = append(words, p)
		}
	}
	b.rec.Name = strings.Join(strings.Fields(strings.Join(words, " ")), " ")
}

// email adds every address in a cell (Google joins several with " ::: ").
func (b *builder) email(cell string) {
	for _, v := range splitMulti(cell) {
		addr, err := cleanEmail(v)
		if err != nil {
			b.errs = append(b.errs, err)
			continue
		}
		if addr != "" && !contains(b.rec.Emails, addr) {
			b.rec.Emails = append(b.rec.Emails, addr)
		}
	}
}

func (b *builder) tag(t string) {
	t = oneLine(strings.TrimPrefix(strings.TrimSpace(t), "* "))
	if t == "" || strings.EqualFold(t, "myContacts") || contains(b.rec.Tags, t) {
		return
	}
	b.rec.Tags = append(b.rec.Tags, t)
}

// done returns the record, or a RowError when a field was bad or the row holds
// neither a name nor an email. ok is false for a row that is entirely empty.
func (b *builder) done() (Record, *RowError, bool) {
	if len(b.errs) > 0 {
		return Record{}, &RowError{Line: b.rec.Line, Err: errors.Join(b.errs...)}, true
	}
	if b.rec.Name == "" && len(b.rec.Emails) == 0 {
		if b.rec.Org == "" && b.rec.Role == "" && b.rec.Note == "" && b.rec.URL == "" {
			return Record{}, nil, false
		}
		return Record{}, &RowError{Line: b.rec.Line, Err: errors.New("no name and no email")}, true
	}
	return b.rec, nil, true
}

func (b *builder) add(recs *[]Record, bad *[]*RowError) {
	rec, rerr, ok := b.done()
	switch {
	case !ok:
	case rerr != nil:
		*bad = append(*bad, rerr)
	default:
		*recs = append(*recs, rec)
	}
}

// cleanEmail lower-cases and checks one address; "" is no address.
func cleanEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		s = strings.TrimSpace(s[7:])
	}
	if s == "" {
		return "", nil
	}
	if hasLineBreak(s) {
		return "", fmt.Errorf("email %q contains a line break", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") || strings.ContainsAny(a.Address, " \t\"") {
		return "", fmt.Errorf("bad email %q", s)
	}
	return strings.ToLower(a.Address), nil
}

// splitMulti splits a Google cell holding several values ("a ::: b").
func splitMulti(cell string) []string {
	var out []string
	for _, v := range strings.Split(cell, ":::") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// oneLine collapses all white space, line breaks included, to single spaces.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == 0x85 || r == 0x2028 || r == 0x2029 || unicode.IsControl(r)
	}), " ")
}

// hasLineBreak reports CR, LF, NEL, U+2028, U+2029 or another control character.
func hasLineBreak(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
