package inbox

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// Kind is what a message is, for the workflow.
type Kind string

// The kinds of message Read can tell apart. KindIntroduction is decided by the
// workflow, which knows what was asked.
const (
	KindReply        Kind = "reply"
	KindIntroduction Kind = "introduction"
	KindAutoReply    Kind = "auto_reply"
	KindBounce       Kind = "bounce"
	KindCalendar     Kind = "calendar_reply"
	KindUnrelated    Kind = "unrelated"
)

// AutoReply is an automatic answer such as an out-of-office note.
type AutoReply struct {
	Reason     string    // which header or subject made it automatic
	ReturnDate time.Time // zero when no return date is stated
}

// BounceRecipient is one recipient of a delivery status notification.
type BounceRecipient struct {
	Address, Action, Status, Diagnostic string
}

// Bounce is a delivery failure (or delay) report.
type Bounce struct {
	OriginalMessageID string // without <>
	OriginalSubject   string
	Recipients        []BounceRecipient
	Delayed           bool // no recipient failed (only delayed, or relayed/delivered): not a bounce
}

// Message is one raw email as coffeechat reads it.
type Message struct {
	MessageID, InReplyTo string   // ids without <>
	References           []string // ids without <>
	From                 mail.Address
	ReplyTo              *mail.Address
	To, Cc               []mail.Address
	Subject              string
	Date                 time.Time

	Text    string // the whole readable text (text/plain preferred; HTML as text when HTML-only)
	NewText string // only what the sender wrote now: quotes, forwards, signatures removed

	Calendar       []byte // a text/calendar part or .ics attachment
	CalendarMethod string // its METHOD, upper case

	Auto    *AutoReply // set for an automatic reply (not a bounce)
	Bounce  *Bounce    // set for a delivery status report (also when only delayed)
	List    bool       // mailing list, newsletter or bulk mail
	Receipt bool       // a read receipt (RFC 8098 disposition notification): no answer

	Mentioned []mail.Address // name and address pairs written in NewText (not the sender's own; only in human replies)
	Truncated bool           // the input was longer than ReadOptions.MaxBytes
}

// ReadOptions tune Read.
type ReadOptions struct {
	Loc      *time.Location // the account's zone, for relative dates; nil: UTC
	MaxBytes int64          // body bytes read at most; 0: DefaultMaxBytes
}

// DefaultMaxBytes is the input read by default (30 MiB).
const DefaultMaxBytes = 30 << 20

// ErrNotEmail is returned by Read for input that has no mail header at all.
var ErrNotEmail = errors.New("not an email")

// maxHeaderBytes bounds the top-level header block.
const maxHeaderBytes = 1 << 20

// Read parses one raw RFC 5322 message. It is lenient: broken MIME, unknown
// charsets and bad dates give a best-effort reading, never an error; the error
// is only for input that is not an email at all.
func Read(raw []byte, opt ReadOptions) (*Message, error) {
	loc := opt.Loc
	if loc == nil {
		loc = time.UTC
	}
	maxBytes := opt.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	hdr, body, err := readHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	m := &Message{}
	if int64(len(body)) > maxBytes {
		body = body[:maxBytes]
		m.Truncated = true
	}
	m.readHeaderFields(hdr)

	parts := walkMIME(hdr, body)
	m.Text = parts.text()
	if len(parts.calendar) > 0 {
		m.Calendar = parts.calendar
		m.CalendarMethod = calendarMethod(parts.calendarParam, parts.calendar)
	}
	m.NewText = newTextOf(parts, m.From.Name)

	m.Bounce = detectBounce(hdr, m, parts)
	m.Receipt = parts.reportType == "disposition-notification" || parts.disposition
	// an iMIP reply is an answer even when calendar software marks it automatic
	imipAnswer := len(m.Calendar) > 0 && (m.CalendarMethod == "REPLY" || m.CalendarMethod == "COUNTER")
	if m.Bounce == nil && !m.Receipt && !imipAnswer {
		if reason := autoReplyReason(hdr, m.Subject); reason != "" {
			m.Auto = &AutoReply{Reason: reason}
			if d, ok := ReturnDate(m.NewText, m.Date, loc); ok {
				m.Auto.ReturnDate = d
			}
		}
	}
	m.List = isList(hdr)
	if m.Kind() == KindReply {
		m.Mentioned = mentionedAddresses(m.NewText, m.From.Address)
	}
	return m, nil
}

// Kind classifies the message: bounce (not only delayed), then auto-reply,
// then calendar reply, then unrelated (list mail, delay-only reports, read
// receipts), else reply.
func (m *Message) Kind() Kind {
	switch {
	case m.Bounce != nil && !m.Bounce.Delayed:
		return KindBounce
	case m.Auto != nil:
		return KindAutoReply
	case len(m.Calendar) > 0 && calendarReplyMethods[m.CalendarMethod]:
		return KindCalendar
	case m.List, m.Bounce != nil, m.Receipt:
		return KindUnrelated
	}
	return KindReply
}

var calendarReplyMethods = map[string]bool{"REPLY": true, "COUNTER": true, "REQUEST": true, "CANCEL": true}

// knownHeaders are fields of which at least one must be present for input to count as mail.
var knownHeaders = []string{"From", "To", "Subject", "Date", "Message-Id", "Received", "Content-Type", "Return-Path", "Mime-Version", "Sender", "Delivered-To"}

// readHeader parses the top-level header leniently and returns it with the body.
func readHeader(raw []byte) (textproto.Header, []byte, error) {
	end, sepLen := headerEnd(raw)
	head := raw[:end]
	var body []byte
	if end+sepLen <= len(raw) {
		body = raw[end+sepLen:]
	}
	if len(head) > maxHeaderBytes {
		head = head[:maxHeaderBytes]
	}
	hdr, err := parseHeaderBlock(head)
	if err != nil {
		return textproto.Header{}, nil, err
	}
	for _, k := range knownHeaders {
		if hdr.Has(k) {
			return hdr, body, nil
		}
	}
	return textproto.Header{}, nil, ErrNotEmail
}

// headerEnd finds the blank line ending a header block: its offset and length.
func headerEnd(raw []byte) (int, int) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return 0, 2
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return 0, 1
	}
	i := bytes.Index(raw, []byte("\n\r\n"))
	j := bytes.Index(raw, []byte("\n\n"))
	switch {
	case i < 0 && j < 0:
		return len(raw), 0
	case i >= 0 && (j < 0 || i < j):
		return i + 1, 2
	default:
		return j + 1, 1
	}
}

// parseHeaderBlock reads header fields, dropping lines that are neither a
// field nor a continuation (a strict parser would give up on them).
func parseHeaderBlock(head []byte) (textproto.Header, error) {
	var clean bytes.Buffer
	clean.Grow(len(head) + 2)
	lines := bytes.Split(head, []byte("\n"))
	started := false
	for i, line := range lines {
		line = bytes.TrimRight(line, "\r")
		if i == 0 && bytes.HasPrefix(line, []byte("From ")) { // mbox separator
			continue
		}
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if started {
				clean.Write(line)
				clean.WriteString("\r\n")
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			started = false
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !validFieldName(name) {
			started = false
			continue
		}
		clean.Write(name)
		clean.Write(line[colon:])
		clean.WriteString("\r\n")
		started = true
	}
	if clean.Len() == 0 {
		return textproto.Header{}, ErrNotEmail
	}
	clean.WriteString("\r\n")
	h, err := textproto.ReadHeader(bufioReader(clean.Bytes()))
	if err != nil {
		return textproto.Header{}, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeHeader turns RFC 2047 encoded words into text, keeping the raw value on error.
func decodeHeader(v string) string {
	if !strings.Contains(v, "=?") {
		return strings.TrimSpace(v)
	}
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(d)
}

func (m *Message) readHeaderFields(h textproto.Header) {
	m.MessageID = firstID(h.Get("Message-Id"))
	m.InReplyTo = firstID(h.Get("In-Reply-To"))
	m.References = MessageIDs(strings.Join(h.Values("References"), " "))
	if from := parseAddresses(h.Get("From")); len(from) > 0 {
		m.From = from[0]
	}
	if rt := parseAddresses(h.Get("Reply-To")); len(rt) > 0 {
		m.ReplyTo = &rt[0]
	}
	m.To = parseAddresses(strings.Join(h.Values("To"), ", "))
	m.Cc = parseAddresses(strings.Join(h.Values("Cc"), ", "))
	m.Subject = decodeHeader(h.Get("Subject"))
	m.Date = parseDate(h.Get("Date"))
}

var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

var looseAddrRe = regexp.MustCompile(`[A-Za-z0-9._%+\-=#'!&*/?^{|}~]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+`)

// parseAddresses parses an address list, falling back to a loose reading.
func parseAddresses(v string) []mail.Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if list, err := addrParser.ParseList(v); err == nil {
		out := make([]mail.Address, 0, len(list))
		for _, a := range list {
			out = append(out, *a)
		}
		return out
	}
	var out []mail.Address
	for _, piece := range splitAddressList(v) {
		if a, err := addrParser.Parse(piece); err == nil {
			out = append(out, *a)
			continue
		}
		addr := looseAddrRe.FindString(piece)
		if addr == "" {
			continue
		}
		name := piece
		if i := strings.Index(name, "<"); i >= 0 {
			name = name[:i]
		} else {
			name = strings.Replace(name, addr, "", 1)
		}
		name = strings.Trim(decodeHeader(name), " \t\"'()")
		out = append(out, mail.Address{Name: name, Address: addr})
	}
	return out
}

// splitAddressList splits at commas outside quotes and angle brackets.
func splitAddressList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '<':
			depth++
		case '>':
			if depth > 0 {
				depth--
			}
		case ',', ';':
			if !quoted && depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon, 2 Jan 2006 15:04:05",
	time.RFC3339,
}

// parseDate reads a Date field; zero when unreadable.
func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	if i := strings.Index(v, "("); i > 0 {
		v = strings.TrimSpace(v[:i])
	}
	v = strings.Join(strings.Fields(v), " ")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t
		}
	}
	return time.Time{}
}
