package inbox

import (
	"bufio"
	"bytes"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
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
	return decodeHeader(hdrBlock(h.Raw).Get(name))
}

// ParseHeaders reads a header block (as fetched with HEADER.FIELDS, or the
// start of a whole message). It never fails: what does not parse stays empty.
// Ids, addresses, subject and date are read as Read reads them, so that the
// watcher's choice of candidates sees what the reading of the whole message
// will see.
func ParseHeaders(uid imap.UID, raw []byte) *Headers {
	hdr := hdrBlock(raw)
	h := &Headers{UID: uid, Raw: raw}
	h.MessageID = firstID(hdr.Get("Message-Id"))
	h.InReplyTo = firstID(hdr.Get("In-Reply-To"))
	h.References = MessageIDs(strings.Join(hdr.Values("References"), " "))
	if from := parseAddresses(hdr.Get("From")); len(from) > 0 {
		h.From = &from[0]
	}
	h.To = addrPtrs(parseAddresses(strings.Join(hdr.Values("To"), ", ")))
	h.Cc = addrPtrs(parseAddresses(strings.Join(hdr.Values("Cc"), ", ")))
	h.Subject = decodeHeader(hdr.Get("Subject"))
	h.Date = parseDate(hdr.Get("Date"))
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
		id := rest[i+1 : i+j]
		id = id[strings.LastIndexByte(id, '<')+1:] // "<<a@x>>": the innermost
		if id != "" && !strings.ContainsAny(id, " \t\r\n") {
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

func firstID(v string) string {
	if ids := MessageIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

func addrPtrs(as []mail.Address) []*mail.Address {
	var out []*mail.Address
	for i := range as {
		out = append(out, &as[i])
	}
	return out
}

// hdrBlock parses a header block leniently: a line that is not a
// field and does not continue one is skipped rather than ending the block.
// Field names are taken as Read's parseHeaderBlock takes them.
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
		if i <= 0 {
			continue
		}
		name := strings.TrimRight(line[:i], " \t") // "Subject : x", as Read takes it
		if !validFieldName([]byte(name)) {
			continue
		}
		key = textproto.CanonicalMIMEHeaderKey(name)
		val.WriteString(strings.TrimSpace(line[i+1:]))
	}
	flush()
	return hdr
}
