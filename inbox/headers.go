package inbox

import (
	"bufio"
	"bytes"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/charset"
)

// HeaderFields are the fields the watcher fetches for every new message
// (BODY.PEEK[HEADER.FIELDS (...)]): enough to thread a reply, spot an
// auto-reply, a bounce or a list, without reading the body.
var HeaderFields = []string{
	"Message-ID", "In-Reply-To", "References", "From", "To", "Cc", "Subject",
	"Date", "Content-Type", "Auto-Submitted", "Precedence", "List-Id",
	"Return-Path", "X-Autoreply", "X-Auto-Response-Suppress",
}

// Headers is what the watcher knows of a message before deciding to read it.
// Message-IDs are without angle brackets. Fields that do not parse are left
// empty; Raw always holds the header block as the server sent it.
type Headers struct {
	UID           imap.UID
	MessageID     string
	InReplyTo     string
	References    []string
	From          *mail.Address
	To, Cc        []*mail.Address
	Subject       string
	Date          time.Time
	ContentType   string
	AutoSubmitted string
	Precedence    string
	ListID        string
	ReturnPath    string
	Raw           []byte
}

// Fetched is a candidate message: its headers and the whole raw message
// (BODY.PEEK[], so it stays unread).
type Fetched struct {
	Headers
	Raw []byte
}

// Get returns the first value of a header field in Raw (any field, not only
// the parsed ones), unfolded and with RFC 2047 words decoded.
func (h *Headers) Get(name string) string {
	hdr := hdrBlock(h.Raw)
	return hdrDecodeWords(strings.TrimSpace(hdr.Get(name)))
}

// ParseHeaders reads a header block (as fetched with HEADER.FIELDS, or the
// start of a whole message). It never fails: what does not parse stays empty.
func ParseHeaders(uid imap.UID, raw []byte) *Headers {
	hdr := hdrBlock(raw)
	h := &Headers{UID: uid, Raw: raw}
	h.MessageID = hdrFirstID(hdr.Get("Message-Id"))
	h.InReplyTo = hdrFirstID(hdr.Get("In-Reply-To"))
	h.References = MessageIDs(strings.Join(hdr.Values("References"), " "))
	parser := &mail.AddressParser{WordDecoder: hdrWordDecoder}
	if v := hdr.Get("From"); v != "" {
		if list, err := parser.ParseList(v); err == nil && len(list) > 0 {
			h.From = list[0]
		}
	}
	h.To = hdrParseAddrs(parser, hdr.Values("To"))
	h.Cc = hdrParseAddrs(parser, hdr.Values("Cc"))
	h.Subject = hdrDecodeWords(strings.TrimSpace(hdr.Get("Subject")))
	if d, err := mail.ParseDate(strings.TrimSpace(hdr.Get("Date"))); err == nil {
		h.Date = d
	}
	h.ContentType = strings.TrimSpace(hdr.Get("Content-Type"))
	h.AutoSubmitted = strings.TrimSpace(hdr.Get("Auto-Submitted"))
	h.Precedence = strings.TrimSpace(hdr.Get("Precedence"))
	h.ListID = strings.TrimSpace(hdr.Get("List-Id"))
	h.ReturnPath = strings.TrimSpace(hdr.Get("Return-Path"))
	return h
}

// MessageIDs extracts the Message-IDs of a References or In-Reply-To value,
// without angle brackets, in order. Bare ids without brackets are accepted
// when the value holds no bracketed one.
func MessageIDs(v string) []string {
	var ids []string
	rest := v
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(rest[i+1 : i+j]); id != "" && !strings.ContainsAny(id, " \t") {
			ids = append(ids, id)
		}
		rest = rest[i+j+1:]
	}
	if len(ids) == 0 {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' }) {
			if strings.Contains(f, "@") {
				ids = append(ids, strings.Trim(f, "<>"))
			}
		}
	}
	return ids
}

func hdrFirstID(v string) string {
	if ids := MessageIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

var hdrWordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

func hdrDecodeWords(s string) string {
	if out, err := hdrWordDecoder.DecodeHeader(s); err == nil {
		return out
	}
	return s
}

func hdrParseAddrs(p *mail.AddressParser, values []string) []*mail.Address {
	var out []*mail.Address
	for _, v := range values {
		if list, err := p.ParseList(v); err == nil {
			out = append(out, list...)
			continue
		}
		// One bad address must not hide the others: parse them one by one.
		for _, part := range strings.Split(v, ",") {
			if a, err := p.Parse(strings.TrimSpace(part)); err == nil {
				out = append(out, a)
			}
		}
	}
	return out
}

// hdrBlock parses a header block leniently: a line that is not a
// field and does not continue one is skipped rather than ending the block.
func hdrBlock(raw []byte) textproto.MIMEHeader {
	hdr := make(textproto.MIMEHeader)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var key string
	var val strings.Builder
	flush := func() {
		if key != "" {
			hdr.Add(key, strings.TrimSpace(val.String()))
		}
		key = ""
		val.Reset()
	}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break // end of the header block
		}
		if line[0] == ' ' || line[0] == '\t' {
			if key != "" {
				val.WriteByte(' ')
				val.WriteString(strings.TrimSpace(line))
			}
			continue
		}
		flush()
		i := strings.IndexByte(line, ':')
		if i <= 0 || strings.ContainsAny(line[:i], " \t") {
			continue
		}
		key = textproto.CanonicalMIMEHeaderKey(line[:i])
		val.WriteString(strings.TrimSpace(line[i+1:]))
	}
	flush()
	return hdr
}
