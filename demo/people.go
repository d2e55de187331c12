package demo

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/inbox"
)

// Client is the mail program a simulated person writes with: it decides the
// MIME shape of their replies, the way they quote, their Message-IDs and
// their calendar replies.
type Client string

// The clients people write with.
const (
	Gmail   Client = "Gmail"
	Outlook Client = "Outlook"
	Apple   Client = "Apple Mail"
)

// Person is someone the user writes to, simulated: they read their mailbox
// and answer with the client they use.
type Person struct {
	Name   string
	Email  string
	Client Client
	Org    string
	Role   string
	Zone   *time.Location // where they live; nil: UTC
}

// First is the person's first name.
func (p Person) First() string {
	if f, _, ok := strings.Cut(p.Name, " "); ok {
		return f
	}
	return p.Name
}

func (p Person) addr() string { return (&mail.Address{Name: p.Name, Address: p.Email}).String() }

func (p Person) zone() *time.Location {
	if p.Zone == nil {
		return time.UTC
	}
	return p.Zone
}

// Reply is what a person writes back to one message.
type Reply struct {
	Text string // what they write now, plain text, paragraphs separated by blank lines
	// ReplyAll keeps every recipient of the original (but the person) in Cc.
	ReplyAll bool
	// Cc adds people, e.g. the person being introduced.
	Cc []*mail.Address
}

// Write builds the reply to orig (raw RFC 5322 bytes the person received)
// in the person's client's shape, dated at.
func (p Person) Write(orig []byte, r Reply, at time.Time) ([]byte, error) {
	m, err := inbox.Read(orig, inbox.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the message %s answers: %w", p.Name, err)
	}
	h, err := headersOf(orig)
	if err != nil {
		return nil, err
	}
	to := []*mail.Address{replyTarget(m)}
	var cc []*mail.Address
	if r.ReplyAll {
		seen := map[string]bool{strings.ToLower(p.Email): true, strings.ToLower(to[0].Address): true}
		for _, field := range []string{"To", "Cc"} {
			list, _ := h.AddressList(field)
			for _, a := range list {
				if k := strings.ToLower(a.Address); !seen[k] {
					seen[k] = true
					cc = append(cc, a)
				}
			}
		}
	}
	cc = append(cc, r.Cc...)
	at = at.In(p.zone())
	hdr := &header{}
	var id, subject, body, ctype string
	quote := quoteOf(m, orig)
	switch p.Client {
	case Outlook:
		id = fmt.Sprintf("%s@%s.namprd11.prod.outlook.com", strings.ToUpper(token(24)), "SJ0PR11MB"+strings.ToUpper(token(2)))
		subject = "RE: " + stripRe(m.Subject)
		hdr.add("Thread-Topic", stripRe(m.Subject))
		hdr.add("Thread-Index", base64.StdEncoding.EncodeToString([]byte(token(11))))
		hdr.add("Accept-Language", "en-US")
		hdr.add("Content-Language", "en-US")
		hdr.add("X-MS-Has-Attach", "")
		sent := m.Date.In(p.zone()).Format("Monday, January 2, 2006 3:04 PM")
		plain := r.Text + "\n\n" + p.Name + "\n" + p.Role + orgLine(p.Org) + "\n\n________________________________\n" +
			"From: " + m.From.String() + "\nSent: " + sent + "\nTo: " + p.addr() + "\nSubject: " + m.Subject + "\n\n" + quote.plain
		htmlPart := "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=us-ascii\">\n</head>\n<body dir=\"ltr\">\n" +
			"<div class=\"elementToProof\" style=\"font-family: Aptos, Calibri, Helvetica, sans-serif; font-size: 12pt;\">" + htmlParas(r.Text) +
			"<div>" + html.EscapeString(p.Name) + "</div></div>\n<div id=\"appendonsend\"></div>\n<hr style=\"display:inline-block;width:98%\" tabindex=\"-1\">\n" +
			"<div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\" style=\"font-size:11pt\"><b>From:</b> " + html.EscapeString(m.From.String()) +
			"<br><b>Sent:</b> " + sent + "<br><b>To:</b> " + html.EscapeString(p.addr()) + "<br><b>Subject:</b> " + html.EscapeString(m.Subject) + "<br></font>\n<div>&nbsp;</div></div>\n" +
			"<div>" + htmlParas(quote.plain) + "</div>\n</body>\n</html>\n"
		boundary := "_000_" + strings.ToUpper(token(16)) + "namp_"
		ctype = "multipart/alternative; boundary=\"" + boundary + "\""
		body = alternative(boundary, "us-ascii", plain, htmlPart)
	case Apple:
		id = strings.ToUpper(fmt.Sprintf("%s-%s-%s-%s-%s", token(4), token(2), token(2), token(2), token(6))) + "@" + domainOf(p.Email)
		subject = "Re: " + stripRe(m.Subject)
		hdr.add("X-Mailer", "Apple Mail (2.3826.200.121)")
		attr := fmt.Sprintf("On %s, at %s, %s wrote:", m.Date.In(p.zone()).Format("Jan 2, 2006"), m.Date.In(p.zone()).Format("3:04\u202fPM"), m.From.String())
		plain := r.Text + "\n\n" + p.First() + "\n\n> " + attr + "\n>\n" + prefixLines(quote.plain, "> ")
		htmlPart := "<html><head><meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\"></head><body style=\"overflow-wrap: break-word;\">" +
			htmlParas(r.Text) + "<div>" + html.EscapeString(p.First()) + "</div><div><br><blockquote type=\"cite\"><div>" + html.EscapeString(attr) +
			"</div><br class=\"Apple-interchange-newline\"><div>" + htmlParas(quote.plain) + "</div></blockquote></div><br></body></html>\n"
		boundary := "Apple-Mail=_" + strings.ToUpper(fmt.Sprintf("%s-%s-%s-%s-%s", token(4), token(2), token(2), token(2), token(6)))
		ctype = "multipart/alternative; boundary=\"" + boundary + "\""
		body = alternative(boundary, "utf-8", plain, htmlPart)
	default: // Gmail
		id = "CA" + token(18) + "@mail.gmail.com"
		subject = "Re: " + stripRe(m.Subject)
		hdr.add("X-Google-Smtp-Source", "AGHT+IF"+token(20))
		attr := fmt.Sprintf("On %s at %s %s wrote:", m.Date.In(p.zone()).Format("Mon, Jan 2, 2006"), m.Date.In(p.zone()).Format("3:04\u202fPM"), m.From.String())
		plain := r.Text + "\n\n" + p.First() + "\n\n" + attr + "\n\n" + prefixLines(quote.plain, "> ")
		htmlPart := "<div dir=\"ltr\">" + htmlParas(r.Text) + "<div>" + html.EscapeString(p.First()) + "</div></div><br>" +
			"<div class=\"gmail_quote gmail_quote_container\"><div dir=\"ltr\" class=\"gmail_attr\">" + html.EscapeString(attr) + "<br></div>" +
			"<blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">" +
			htmlParas(quote.plain) + "</blockquote></div>\n"
		boundary := "0000000000" + token(8)
		ctype = "multipart/alternative; boundary=\"" + boundary + "\""
		body = alternative(boundary, "UTF-8", plain, htmlPart)
	}
	refs := append(append([]string(nil), m.References...), m.MessageID)
	var out header
	out.add("From", p.addr())
	out.add("Date", at.Format(time.RFC1123Z))
	out.add("Message-ID", "<"+id+">")
	out.add("Subject", mime.QEncoding.Encode("utf-8", subject))
	out.add("To", addrList(to))
	if len(cc) > 0 {
		out.add("Cc", addrList(cc))
	}
	out.add("In-Reply-To", "<"+m.MessageID+">")
	out.add("References", "<"+strings.Join(refs, "> <")+">")
	out.fields = append(out.fields, hdr.fields...)
	out.add("MIME-Version", "1.0")
	out.add("Content-Type", ctype)
	return out.message(body), nil
}

// OutOfOffice is the automatic reply an Exchange mailbox sends while its
// owner is away until back (a date in the person's zone).
func (p Person) OutOfOffice(orig []byte, back, at time.Time) ([]byte, error) {
	m, err := inbox.Read(orig, inbox.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the message %s's autoresponder answers: %w", p.Name, err)
	}
	at = at.In(p.zone())
	text := fmt.Sprintf("Thank you for your message. I am out of the office with limited access to email and will be back on %s. I will reply when I return.",
		back.In(p.zone()).Format("Monday, January 2, 2006"))
	htmlPart := "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=us-ascii\">\n</head>\n<body>\n<div>" + html.EscapeString(text) + "</div>\n</body>\n</html>\n"
	boundary := "_000_" + strings.ToUpper(token(16)) + "namp_"
	var h header
	h.add("Thread-Topic", stripRe(m.Subject))
	h.add("Content-Language", "en-US")
	h.add("X-MS-Has-Attach", "")
	h.add("X-Auto-Response-Suppress", "All")
	h.add("X-MS-Exchange-Inbox-Rules-Loop", p.Email)
	h.add("Auto-Submitted", "auto-generated")
	h.add("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent")
	h.add("From", p.addr())
	h.add("Date", at.Format(time.RFC1123Z))
	h.add("Message-ID", "<"+strings.ToUpper(token(24))+"@SJ0PR11MB"+strings.ToUpper(token(2))+".namprd11.prod.outlook.com>")
	h.add("Subject", "Automatic reply: "+stripRe(m.Subject))
	h.add("To", replyTarget(m).String())
	h.add("In-Reply-To", "<"+m.MessageID+">")
	h.add("References", "<"+m.MessageID+">")
	h.add("MIME-Version", "1.0")
	h.add("Content-Type", "multipart/alternative; boundary=\""+boundary+"\"")
	return h.message(alternative(boundary, "us-ascii", text, htmlPart)), nil
}

// Invite is an invitation found in a person's mailbox.
type Invite struct {
	Raw    []byte
	Msg    *inbox.Message
	Method string
	Event  calendar.Event
}

// FindInvite reads raw and returns the calendar invitation in it, if any.
func FindInvite(raw []byte) (*Invite, bool) {
	m, err := inbox.Read(raw, inbox.ReadOptions{})
	if err != nil || len(m.Calendar) == 0 {
		return nil, false
	}
	cal, err := calendar.Parse(m.Calendar)
	if err != nil || len(cal.Events) == 0 {
		return nil, false
	}
	return &Invite{Raw: raw, Msg: m, Method: cal.Method, Event: cal.Events[0]}, true
}

// Respond builds the person's calendar reply (iMIP METHOD:REPLY with
// partstat ACCEPTED, DECLINED or TENTATIVE) to an invite, in the shape
// their client sends.
func (p Person) Respond(inv *Invite, partstat string, at time.Time) []byte {
	ev := inv.Event
	verb := map[string]string{calendar.PartAccepted: "Accepted", calendar.PartDeclined: "Declined", calendar.PartTentative: "Tentative"}[partstat]
	if verb == "" {
		verb = "Accepted"
	}
	stamp := at.UTC().Format("20060102T150405Z")
	var ics strings.Builder
	line := func(s string) { ics.WriteString(fold(s)) }
	prodid := map[Client]string{Gmail: "-//Google Inc//Google Calendar 70.9054//EN", Outlook: "Microsoft Exchange Server 2010", Apple: "-//Apple Inc.//macOS 15.1//EN"}[p.Client]
	line("BEGIN:VCALENDAR")
	line("PRODID:" + prodid)
	line("VERSION:2.0")
	line("CALSCALE:GREGORIAN")
	line("METHOD:REPLY")
	line("BEGIN:VEVENT")
	line("DTSTART:" + ev.Start.UTC().Format("20060102T150405Z"))
	line("DTEND:" + ev.End.UTC().Format("20060102T150405Z"))
	line("DTSTAMP:" + stamp)
	line(fmt.Sprintf("ORGANIZER;CN=%s:mailto:%s", icsParam(ev.Organizer.Name), ev.Organizer.Email))
	line("UID:" + ev.UID)
	line(fmt.Sprintf("ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=%s;CN=%s:mailto:%s", partstat, icsParam(p.Name), p.Email))
	line(fmt.Sprintf("SEQUENCE:%d", ev.Sequence))
	line("STATUS:CONFIRMED")
	line("SUMMARY:" + icsText(ev.Summary))
	line("END:VEVENT")
	line("END:VCALENDAR")
	cal := ics.String()

	organizer := &mail.Address{Name: ev.Organizer.Name, Address: ev.Organizer.Email}
	zone := p.zone()
	when := ev.Start.In(zone).Format("Mon Jan 2, 2006 3:04pm") + " - " + ev.End.In(zone).Format("3:04pm (MST)")
	var h header
	var body string
	switch p.Client {
	case Outlook:
		boundary := "_000_" + strings.ToUpper(token(16)) + "namp_"
		text := fmt.Sprintf("%s has accepted this meeting.\n", p.Name)
		if partstat != calendar.PartAccepted {
			text = fmt.Sprintf("%s: %s\n", verb, ev.Summary)
		}
		h.add("Thread-Topic", ev.Summary)
		h.add("Content-Language", "en-US")
		h.add("X-MS-Has-Attach", "")
		h.add("X-MS-Exchange-Calendar-Originator-Id", token(8))
		h.add("Subject", verb+": "+ev.Summary)
		h.add("Message-ID", "<"+strings.ToUpper(token(24))+"@SJ0PR11MB"+strings.ToUpper(token(2))+".namprd11.prod.outlook.com>")
		h.add("Content-Type", "multipart/alternative; boundary=\""+boundary+"\"")
		body = "--" + boundary + "\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(text) + "\r\n" +
			"--" + boundary + "\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REPLY\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(cal) +
			"--" + boundary + "--\r\n"
	case Apple:
		boundary := "Apple-Mail=_" + strings.ToUpper(token(16))
		h.add("X-Mailer", "Apple Mail (2.3826.200.121)")
		h.add("Subject", fmt.Sprintf("Invitation: %s @ %s (%s) %s", ev.Summary, when, p.Email, strings.ToLower(verb)))
		h.add("Message-ID", "<"+strings.ToUpper(token(16))+"@"+domainOf(p.Email)+">")
		h.add("Content-Type", "multipart/mixed; boundary=\""+boundary+"\"")
		body = "--" + boundary + "\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
			fmt.Sprintf("%s has %s your invitation.\r\n", p.Name, strings.ToLower(verb)) + "\r\n" +
			"--" + boundary + "\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REPLY; name=\"iCal-reply.ics\"\r\n" +
			"Content-Disposition: attachment; filename=\"iCal-reply.ics\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(cal) + "\r\n" +
			"--" + boundary + "--\r\n"
	default: // Google Calendar, from a Gmail account
		outer, inner := "0000000000"+token(8), "0000000000"+token(8)
		text := fmt.Sprintf("%s has %s this invitation.\n\n%s\n%s\n\nOrganizer\n%s\n%s\n\nInvitation from Google Calendar: https://calendar.google.com/calendar/\n",
			p.Name, strings.ToLower(verb), ev.Summary, when, organizer.Name, organizer.Address)
		h.add("Sender", "Google Calendar <calendar-notification@google.com>")
		h.add("Reply-To", p.Email)
		h.add("Subject", fmt.Sprintf("%s: %s @ %s (%s)", verb, ev.Summary, when, ev.Organizer.Email))
		h.add("Message-ID", "<calendar-"+token(16)+"@google.com>")
		h.add("Content-Type", "multipart/mixed; boundary=\""+outer+"\"")
		body = "--" + outer + "\r\nContent-Type: multipart/alternative; boundary=\"" + inner + "\"\r\n\r\n" +
			"--" + inner + "\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(text) + "\r\n" +
			"--" + inner + "\r\nContent-Type: text/html; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			qp("<span itemscope itemtype=\"http://schema.org/InformAction\"><div><h1>"+html.EscapeString(p.Name)+" has "+strings.ToLower(verb)+" this invitation.</h1></div></span>") + "\r\n" +
			"--" + inner + "\r\nContent-Type: text/calendar; charset=\"UTF-8\"; method=REPLY\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + cal + "\r\n" +
			"--" + inner + "--\r\n\r\n" +
			"--" + outer + "\r\nContent-Type: application/ics; name=\"invite.ics\"\r\nContent-Disposition: attachment; filename=\"invite.ics\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(cal) +
			"--" + outer + "--\r\n"
	}
	var out header
	out.add("From", p.addr())
	out.add("Date", at.In(zone).Format(time.RFC1123Z))
	out.add("To", organizer.String())
	out.add("MIME-Version", "1.0")
	out.fields = append(out.fields, h.fields...)
	return out.message(body)
}

// header is an ordered header block.
type header struct{ fields [][2]string }

func (h *header) add(k, v string) { h.fields = append(h.fields, [2]string{k, v}) }

func (h *header) message(body string) []byte {
	var b bytes.Buffer
	for _, f := range h.fields {
		if f[1] == "" {
			b.WriteString(f[0] + ": \r\n")
			continue
		}
		b.WriteString(f[0] + ": " + f[1] + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes()
}

type quoted struct{ plain string }

// quoteOf is the text a reply quotes: the original's readable text.
func quoteOf(m *inbox.Message, _ []byte) quoted {
	t := strings.TrimRight(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n")
	return quoted{plain: t}
}

func headersOf(raw []byte) (mail.Header, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	return m.Header, nil
}

// replyTarget is where a reply goes: Reply-To, else From.
func replyTarget(m *inbox.Message) *mail.Address {
	if m.ReplyTo != nil && m.ReplyTo.Address != "" {
		a := *m.ReplyTo
		return &a
	}
	a := m.From
	return &a
}

func alternative(boundary, charset, plain, htmlPart string) string {
	return "--" + boundary + "\r\nContent-Type: text/plain; charset=\"" + charset + "\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(plain) + "\r\n" +
		"--" + boundary + "\r\nContent-Type: text/html; charset=\"" + charset + "\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(htmlPart) + "\r\n" +
		"--" + boundary + "--\r\n"
}

func qp(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")))
	_ = w.Close()
	return b.String()
}

func b64(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.String()
}

// fold writes one content line, folded at 75 octets (RFC 5545 3.1).
func fold(s string) string {
	var b strings.Builder
	for len(s) > 75 {
		cut := 75
		for cut > 1 && (s[cut]&0xC0) == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		b.WriteString(s[:cut] + "\r\n ")
		s = s[cut:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

func icsText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "")
	return r.Replace(s)
}

func icsParam(s string) string {
	if strings.ContainsAny(s, ":;,") {
		return `"` + strings.ReplaceAll(s, `"`, "") + `"`
	}
	return s
}

func htmlParas(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" {
			b.WriteString("<div><br></div>")
			continue
		}
		b.WriteString("<div>" + html.EscapeString(l) + "</div>")
	}
	return b.String()
}

func prefixLines(s, p string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = strings.TrimRight(p, " ")
		} else {
			lines[i] = p + l
		}
	}
	return strings.Join(lines, "\n")
}

func addrList(as []*mail.Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func orgLine(org string) string {
	if org == "" {
		return ""
	}
	return " | " + org
}

// stripRe removes reply prefixes a client would not repeat.
func stripRe(s string) string {
	for {
		t := strings.TrimSpace(s)
		l := strings.ToLower(t)
		switch {
		case strings.HasPrefix(l, "re:"):
			s = t[3:]
		case strings.HasPrefix(l, "aw:"):
			s = t[3:]
		default:
			return t
		}
	}
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok {
		return d
	}
	return "example.test"
}

// token is n random bytes in hex.
func token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
