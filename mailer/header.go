package mailer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"

	"github.com/emersion/go-message/charset"
)

// ErrHeaderBreak is returned for a value that would break out of a header line.
var ErrHeaderBreak = errors.New("contains a line break")

// CheckHeader refuses a value that could add a header or a recipient if it
// reached a message header: CR, LF, NEL, the Unicode line and paragraph
// separators, NUL, and an RFC 2047 encoded word that decodes to any of them.
// field names the value in the error ("subject", "contact name").
func CheckHeader(field, value string) error {
	if i := strings.IndexFunc(value, isBreak); i >= 0 {
		return fmt.Errorf("%s %q: %w at byte %d", field, clip(value), ErrHeaderBreak, i)
	}
	if strings.Contains(value, "=?") {
		dec := mime.WordDecoder{CharsetReader: charset.Reader} // any charset go-message knows
		if d, err := dec.DecodeHeader(value); err == nil && strings.IndexFunc(d, isBreak) >= 0 {
			return fmt.Errorf("%s %q: %w (inside an encoded word)", field, clip(value), ErrHeaderBreak)
		}
	}
	return nil
}

func isBreak(r rune) bool {
	switch r {
	case '\r', '\n', '\u0085', '\u2028', '\u2029', 0:
		return true
	}
	return false
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// ParseAddress parses one address ("Jane Doe <jane@example.com>" or a bare
// addr-spec) and lower-cases nothing: callers compare with strings.EqualFold.
// It refuses lists, groups and anything with a line break.
func ParseAddress(field, s string) (*mail.Address, error) {
	if err := CheckHeader(field, s); err != nil {
		return nil, err
	}
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s %q: not an email address: %w", field, clip(s), err)
	}
	if err := CheckHeader(field, a.Name); err != nil {
		return nil, err
	}
	return a, nil
}

// NewMessageID returns a fresh, random Message-ID (without angle brackets)
// under domain, the user's own mail domain.
func NewMessageID(domain string) string {
	if domain == "" {
		domain = "coffeechat.invalid"
	}
	return "cc." + strings.ToLower(rand.Text()) + "@" + domain
}

// DomainOf returns the domain part of an address, or "".
func DomainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}
