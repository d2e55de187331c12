package mailer

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// CalendarPart is an iMIP message body: an iCalendar object sent as a
// text/calendar alternative and as an attachment.
type CalendarPart struct {
	Method   string // REQUEST, CANCEL, REPLY, ...; must match METHOD in Data
	Data     []byte // the iCalendar object
	Filename string // the attachment name; "invite.ics" when empty
}

// Message is one email to compose. Every string that reaches a header is
// checked with CheckHeader, and every address is re-validated.
type Message struct {
	From        mail.Address
	To, Cc, Bcc []mail.Address
	Subject     string
	Text        string
	HTML        string // optional alternative to Text

	MessageID  string   // without <>; required: the caller chose and stored it before sending
	InReplyTo  string   // without <>
	References []string // without <>
	Date       time.Time

	Calendar *CalendarPart     // an iMIP invite, update or cancel
	Headers  map[string]string // extra headers, e.g. Auto-Submitted
}

// Composed is a rendered message: Raw is exactly the bytes sent in DATA (and
// the bytes to APPEND to a Sent folder); From and Rcpts are the envelope.
// Bcc recipients appear only in Rcpts.
type Composed struct {
	Raw       []byte
	From      string
	Rcpts     []string
	MessageID string // without <>
}

// ErrInvalidMessage wraps every refusal of Compose.
var ErrInvalidMessage = errors.New("invalid message")

// reservedHeaders are set by Compose itself and cannot come through Headers.
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "date": true,
	"message-id": true, "in-reply-to": true, "references": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true, "content-disposition": true,
	"sender": true, "reply-to": true, "return-path": true, "received": true,
	"user-agent": true, "x-mailer": true,
}

// Compose renders m with go-mail. It refuses line breaks in any header value,
// addresses that do not parse back to themselves, a missing From, Message-ID
// or recipient, and custom headers that would override the ones it sets.
func Compose(m *Message) (*Composed, error) {
	c, err := compose(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	return c, nil
}

func compose(m *Message) (*Composed, error) {
	if m == nil {
		return nil, errors.New("nil message")
	}
	from, err := checkAddress("from", m.From)
	if err != nil {
		return nil, err
	}
	to, err := checkAddresses("to", m.To)
	if err != nil {
		return nil, err
	}
	cc, err := checkAddresses("cc", m.Cc)
	if err != nil {
		return nil, err
	}
	bcc, err := checkAddresses("bcc", m.Bcc)
	if err != nil {
		return nil, err
	}
	if len(to)+len(cc)+len(bcc) == 0 {
		return nil, errors.New("no recipients")
	}
	if err := CheckHeader("subject", m.Subject); err != nil {
		return nil, err
	}
	if err := checkMsgID("message-id", m.MessageID); err != nil {
		return nil, err
	}
	if m.MessageID == "" {
		return nil, errors.New("message-id: required")
	}
	if m.InReplyTo != "" {
		if err := checkMsgID("in-reply-to", m.InReplyTo); err != nil {
			return nil, err
		}
	}
	refs := make([]string, 0, len(m.References))
	for _, r := range m.References {
		if r == "" {
			continue
		}
		if err := checkMsgID("references", r); err != nil {
			return nil, err
		}
		refs = append(refs, "<"+r+">")
	}
	extra := make([]string, 0, len(m.Headers))
	for k, v := range m.Headers {
		if !validFieldName(k) {
			return nil, fmt.Errorf("header name %q: not a valid field name", clip(k))
		}
		if reservedHeaders[strings.ToLower(k)] {
			return nil, fmt.Errorf("header %s: set by the composer, not through Headers", k)
		}
		if err := CheckHeader("header "+k, v); err != nil {
			return nil, err
		}
		extra = append(extra, k)
	}
	sort.Strings(extra)
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}

	g := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	g.SetMessageIDWithValue(m.MessageID)
	g.SetDateWithValue(date)
	g.FromMailAddress(from)
	if len(to) > 0 {
		g.ToMailAddress(to...)
	}
	if len(cc) > 0 {
		g.CcMailAddress(cc...)
	}
	g.Subject(m.Subject)
	if m.InReplyTo != "" {
		g.SetGenHeader(gomail.HeaderInReplyTo, "<"+m.InReplyTo+">")
	}
	if len(refs) > 0 {
		// One value: go-mail joins several values with ", ".
		g.SetGenHeader(gomail.HeaderReferences, strings.Join(refs, " "))
	}
	for _, k := range extra {
		g.SetGenHeader(gomail.Header(k), m.Headers[k])
	}

	g.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		g.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	if cal := m.Calendar; cal != nil {
		method := strings.ToUpper(strings.TrimSpace(cal.Method))
		if !validToken(method) {
			return nil, fmt.Errorf("calendar method %q: not an iTIP method", clip(cal.Method))
		}
		if len(cal.Data) == 0 {
			return nil, errors.New("calendar: empty")
		}
		name := cal.Filename
		if name == "" {
			name = "invite.ics"
		}
		if err := CheckHeader("calendar filename", name); err != nil {
			return nil, err
		}
		if strings.ContainsAny(name, `"\/`) {
			return nil, fmt.Errorf("calendar filename %q: no quotes or slashes", clip(name))
		}
		ct := gomail.ContentType("text/calendar; method=" + method)
		g.AddAlternativeString(ct, string(cal.Data), gomail.WithPartEncoding(gomail.EncodingB64))
		if err := g.AttachReader(name, bytes.NewReader(cal.Data),
			gomail.WithFileContentType(gomail.ContentType("application/ics")),
			gomail.WithFileEncoding(gomail.EncodingB64)); err != nil {
			return nil, fmt.Errorf("attach %s: %w", name, err)
		}
	}

	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	rcpts := make([]string, 0, len(to)+len(cc)+len(bcc))
	seen := map[string]bool{}
	for _, list := range [][]*mail.Address{to, cc, bcc} {
		for _, a := range list {
			k := strings.ToLower(a.Address)
			if !seen[k] {
				seen[k] = true
				rcpts = append(rcpts, a.Address)
			}
		}
	}
	return &Composed{Raw: buf.Bytes(), From: from.Address, Rcpts: rcpts, MessageID: m.MessageID}, nil
}

// checkAddress re-validates an address: the display name and the address
// must be free of line breaks, the address must be one plain addr-spec, and
// the formatted form must parse back to the same address.
func checkAddress(field string, a mail.Address) (*mail.Address, error) {
	if err := CheckHeader(field+" name", a.Name); err != nil {
		return nil, err
	}
	if err := CheckHeader(field+" address", a.Address); err != nil {
		return nil, err
	}
	if strings.TrimSpace(a.Address) == "" {
		return nil, fmt.Errorf("%s: empty address", field)
	}
	p, err := mail.ParseAddress(a.Address)
	if err != nil {
		return nil, fmt.Errorf("%s %q: not an email address: %w", field, clip(a.Address), err)
	}
	if p.Name != "" || p.Address != a.Address {
		return nil, fmt.Errorf("%s %q: not a single bare address", field, clip(a.Address))
	}
	back, err := mail.ParseAddress(a.String())
	if err != nil || back.Address != a.Address || back.Name != a.Name {
		return nil, fmt.Errorf("%s %q: does not round-trip", field, clip(a.String()))
	}
	return &mail.Address{Name: a.Name, Address: a.Address}, nil
}

func checkAddresses(field string, as []mail.Address) ([]*mail.Address, error) {
	out := make([]*mail.Address, 0, len(as))
	for _, a := range as {
		p, err := checkAddress(field, a)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// checkMsgID accepts a Message-ID without angle brackets: id-left@id-right,
// printable ASCII, no space, no brackets.
func checkMsgID(field, id string) error {
	if err := CheckHeader(field, id); err != nil {
		return err
	}
	if id == "" {
		return nil
	}
	at := strings.IndexByte(id, '@')
	if at <= 0 || at == len(id)-1 {
		return fmt.Errorf("%s %q: want left@right, without <>", field, clip(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == ',' {
			return fmt.Errorf("%s %q: character %q not allowed", field, clip(id), c)
		}
	}
	return nil
}

// validFieldName is RFC 5322 ftext: printable ASCII except colon.
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f || k[i] == ':' {
			return false
		}
	}
	return true
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r == '-') {
			return false
		}
	}
	return true
}
