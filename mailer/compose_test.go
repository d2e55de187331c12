package mailer

import (
	"bytes"
	"errors"
	"io"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	gmail "github.com/emersion/go-message/mail"
)

const testICS = "BEGIN:VCALENDAR\r\nPRODID:-//coffeechat//test//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n" +
	"BEGIN:VEVENT\r\nUID:evt-1@example.com\r\nDTSTAMP:20261201T100000Z\r\nDTSTART:20261202T220000Z\r\n" +
	"SUMMARY:Coffee chat\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func baseMessage() *Message {
	return &Message{
		From:       mail.Address{Name: "Sam Rivéra", Address: "sam@example.com"},
		To:         []mail.Address{{Name: "Jane Doe", Address: "jane@example.org"}},
		Cc:         []mail.Address{{Address: "kim@example.net"}},
		Bcc:        []mail.Address{{Name: "Dad", Address: "dad@example.net"}},
		Subject:    "Café chat — a quick question",
		Text:       "Hello Jane,\nwould you have 20 minutes next week? Ünïcode café.\n\nSam\n",
		MessageID:  "cc.abc123@example.com",
		InReplyTo:  "orig.2@example.org",
		References: []string{"orig.1@example.org", "orig.2@example.org"},
		Date:       time.Date(2026, 12, 1, 10, 30, 0, 0, time.FixedZone("PST", -8*3600)),
		Headers:    map[string]string{"Auto-Submitted": "auto-generated"},
	}
}

func mustCompose(t *testing.T, m *Message) *Composed {
	t.Helper()
	c, err := Compose(m)
	if err != nil {
		t.Fatalf("Compose() error: %v", err)
	}
	return c
}

func TestComposeHeaders(t *testing.T) {
	c := mustCompose(t, baseMessage())
	if bytes.Contains(bytes.ReplaceAll(c.Raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("Raw has a bare LF")
	}
	r, err := gmail.CreateReader(bytes.NewReader(c.Raw))
	if err != nil {
		t.Fatalf("parse Raw: %v", err)
	}
	h := r.Header
	if id, err := h.MessageID(); err != nil || id != "cc.abc123@example.com" {
		t.Errorf("Message-ID = %q, %v; want cc.abc123@example.com", id, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(baseMessage().Date) {
		t.Errorf("Date = %v, %v; want %v", d, err, baseMessage().Date)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Sam Rivéra" || from[0].Address != "sam@example.com" {
		t.Errorf("From = %v, %v; want Sam Rivéra <sam@example.com>", from, err)
	}
	to, _ := h.AddressList("To")
	cc, _ := h.AddressList("Cc")
	if len(to) != 1 || to[0].Address != "jane@example.org" || to[0].Name != "Jane Doe" || len(cc) != 1 || cc[0].Address != "kim@example.net" {
		t.Errorf("To = %v, Cc = %v", to, cc)
	}
	if h.Has("Bcc") || bytes.Contains(c.Raw, []byte("dad@example.net")) {
		t.Errorf("the Bcc address is in the message:\n%s", c.Raw)
	}
	for _, k := range []string{"User-Agent", "X-Mailer"} {
		if h.Has(k) {
			t.Errorf("header %s present: %q", k, h.Get(k))
		}
	}
	if got := h.Get("In-Reply-To"); got != "<orig.2@example.org>" {
		t.Errorf("In-Reply-To = %q", got)
	}
	if refs := h.Values("References"); len(refs) != 1 || refs[0] != "<orig.1@example.org> <orig.2@example.org>" {
		t.Errorf("References = %q; want one value, space-separated", refs)
	}
	if ids, err := h.MsgIDList("References"); err != nil || len(ids) != 2 || ids[1] != "orig.2@example.org" {
		t.Errorf("References ids = %q, %v", ids, err)
	}
	if raw := h.Get("Subject"); !strings.HasPrefix(raw, "=?") {
		t.Errorf("raw Subject %q is not RFC 2047 encoded", raw)
	}
	if s, err := h.Subject(); err != nil || s != "Café chat — a quick question" {
		t.Errorf("Subject = %q, %v", s, err)
	}
	if got := h.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if mt, params, _ := h.ContentType(); mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type = %s %v; want text/plain; charset=utf-8", mt, params)
	}
	p, err := r.NextPart()
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	body, _ := io.ReadAll(p.Body)
	if want := strings.ReplaceAll(baseMessage().Text, "\n", "\r\n"); string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	want := []string{"jane@example.org", "kim@example.net", "dad@example.net"}
	if strings.Join(c.Rcpts, ",") != strings.Join(want, ",") || c.From != "sam@example.com" {
		t.Errorf("envelope = %s -> %v; want sam@example.com -> %v", c.From, c.Rcpts, want)
	}
}

func TestComposeManyReferences(t *testing.T) {
	m := baseMessage()
	m.References = nil
	for i := range 12 {
		m.References = append(m.References, "some.long.message.id."+strings.Repeat("x", i)+"@mail.example.org")
	}
	c := mustCompose(t, m)
	r, err := gmail.CreateReader(bytes.NewReader(c.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Header.Values("References")); n != 1 {
		t.Fatalf("%d References headers, want 1", n)
	}
	ids, err := r.Header.MsgIDList("References")
	if err != nil || strings.Join(ids, " ") != strings.Join(m.References, " ") {
		t.Errorf("References = %q, %v; want %q", ids, err, m.References)
	}
}

func TestComposeHTML(t *testing.T) {
	m := baseMessage()
	m.HTML = "<p>Hello <b>Jane</b></p>"
	c := mustCompose(t, m)
	e, err := message.Read(bytes.NewReader(c.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(t, e); got != "multipart/alternative[text/plain text/html]" {
		t.Errorf("tree = %s", got)
	}
}

func TestComposeCalendarTree(t *testing.T) {
	m := baseMessage()
	m.Calendar = &CalendarPart{Method: "request", Data: []byte(testICS)}
	c := mustCompose(t, m)
	e, err := message.Read(bytes.NewReader(c.Raw))
	if err != nil {
		t.Fatal(err)
	}
	want := "multipart/mixed[multipart/alternative[text/plain text/calendar] application/ics]"
	if got := tree(t, e); got != want {
		t.Fatalf("tree = %s, want %s", got, want)
	}
	// Re-read to look at the parts.
	e, _ = message.Read(bytes.NewReader(c.Raw))
	mixed := e.MultipartReader()
	alt, _ := mixed.NextPart()
	ar := alt.MultipartReader()
	_, _ = ar.NextPart()
	cal, err := ar.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := cal.Header.ContentType()
	if mt != "text/calendar" || params["method"] != "REQUEST" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("calendar part = %s %v; want text/calendar method=REQUEST charset=utf-8", mt, params)
	}
	if enc := cal.Header.Get("Content-Transfer-Encoding"); !strings.EqualFold(enc, "base64") {
		t.Errorf("calendar part encoding = %q, want base64", enc)
	}
	if data, _ := io.ReadAll(cal.Body); string(data) != testICS {
		t.Errorf("calendar data = %q", data)
	}
	att, err := mixed.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	disp, dparams, _ := att.Header.ContentDisposition()
	if disp != "attachment" || dparams["filename"] != "invite.ics" {
		t.Errorf("attachment = %s %v; want attachment invite.ics", disp, dparams)
	}
	if data, _ := io.ReadAll(att.Body); string(data) != testICS {
		t.Errorf("attachment data = %q", data)
	}
}

// tree renders the MIME structure: "type[child child]".
func tree(t *testing.T, e *message.Entity) string {
	t.Helper()
	mt, _, _ := e.Header.ContentType()
	mr := e.MultipartReader()
	if mr == nil {
		_, _ = io.Copy(io.Discard, e.Body)
		return mt
	}
	var kids []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		kids = append(kids, tree(t, p))
	}
	return mt + "[" + strings.Join(kids, " ") + "]"
}

func TestComposeRefusesInjection(t *testing.T) {
	cases := []struct {
		name string
		edit func(m *Message)
	}{
		{"subject CRLF", func(m *Message) { m.Subject = "Hi\r\nBcc: evil@example.com" }},
		{"subject LF", func(m *Message) { m.Subject = "Hi\nBcc: evil@example.com" }},
		{"subject bare CR", func(m *Message) { m.Subject = "Hi\rX" }},
		{"subject NUL", func(m *Message) { m.Subject = "Hi\x00" }},
		{"subject U+2028", func(m *Message) { m.Subject = "Hi\u2028Bcc: evil@example.com" }},
		{"subject encoded CRLF", func(m *Message) { m.Subject = "=?UTF-8?Q?Hi=0D=0ABcc:_evil@example.com?=" }},
		{"subject encoded LF base64", func(m *Message) { m.Subject = "=?UTF-8?B?SGkKQmNjOiBldmlsQGV4YW1wbGUuY29t?=" }},
		{"from name CRLF", func(m *Message) { m.From.Name = "Sam\r\nBcc: evil@example.com" }},
		{"to name encoded CRLF", func(m *Message) { m.To[0].Name = "=?utf-8?q?Jane=0D=0ABcc:_evil@example.com?=" }},
		{"to address CRLF", func(m *Message) { m.To[0].Address = "jane@example.org\r\nBcc: evil@example.com" }},
		{"to address with a name inside", func(m *Message) { m.To[0].Address = "Evil <evil@example.com>" }},
		{"to address list", func(m *Message) { m.To[0].Address = "jane@example.org, evil@example.com" }},
		{"cc empty address", func(m *Message) { m.Cc[0].Address = "" }},
		{"bcc not an address", func(m *Message) { m.Bcc[0].Address = "dad" }},
		{"from empty", func(m *Message) { m.From = mail.Address{} }},
		{"no recipients", func(m *Message) { m.To, m.Cc, m.Bcc = nil, nil, nil }},
		{"extra header value CRLF", func(m *Message) { m.Headers["X-Ask"] = "1\r\nBcc: evil@example.com" }},
		{"extra header name colon", func(m *Message) { m.Headers["X-Ask: 1\r\nBcc"] = "evil@example.com" }},
		{"extra header name space", func(m *Message) { m.Headers["X Ask"] = "1" }},
		{"extra header overrides Bcc", func(m *Message) { m.Headers["bcc"] = "evil@example.com" }},
		{"extra header overrides From", func(m *Message) { m.Headers["From"] = "evil@example.com" }},
		{"message-id missing", func(m *Message) { m.MessageID = "" }},
		{"message-id brackets", func(m *Message) { m.MessageID = "<a@b>" }},
		{"message-id CRLF", func(m *Message) { m.MessageID = "a@b\r\nBcc: evil@example.com" }},
		{"in-reply-to space", func(m *Message) { m.InReplyTo = "a@b c" }},
		{"references LF", func(m *Message) { m.References = []string{"a@b\nBcc: evil@example.com"} }},
		{"calendar method", func(m *Message) {
			m.Calendar = &CalendarPart{Method: "REQUEST\r\nBcc: x", Data: []byte(testICS)}
		}},
		{"calendar filename", func(m *Message) {
			m.Calendar = &CalendarPart{Method: "REQUEST", Data: []byte(testICS), Filename: "a\"\r\nBcc: x"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := baseMessage()
			tc.edit(m)
			c, err := Compose(m)
			if err == nil {
				t.Fatalf("Compose() = nil error, want refusal; raw:\n%s", c.Raw)
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("Compose() error %v is not ErrInvalidMessage", err)
			}
		})
	}
}

func TestComposeAllowsOrdinaryValues(t *testing.T) {
	m := baseMessage()
	m.To[0].Name = `Jane "JJ" O'Brien, PhD`
	m.Subject = "Re: 20 minutes? (sports marketing) =? not encoded"
	c := mustCompose(t, m)
	r, err := gmail.CreateReader(bytes.NewReader(c.Raw))
	if err != nil {
		t.Fatal(err)
	}
	to, err := r.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != m.To[0].Name {
		t.Errorf("To = %v, %v; want name %q", to, err, m.To[0].Name)
	}
	if s, _ := r.Header.Subject(); s != m.Subject {
		t.Errorf("Subject = %q, want %q", s, m.Subject)
	}
}
