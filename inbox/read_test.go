package inbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadNotEmail(t *testing.T) {
	for _, in := range []string{"", "hello world", "\x00\x01\x02", "{\"json\": true}\n\nbody"} {
		if _, err := Read([]byte(in), ReadOptions{}); !errors.Is(err, ErrNotEmail) {
			t.Errorf("Read(%q) error = %v, want ErrNotEmail", in, err)
		}
	}
}

func TestReadLenientHeaders(t *testing.T) {
	raw := "From Jane Mon Nov 30 17:00:00 2026\n" + // mbox separator
		"From: =?utf-8?q?Jos=C3=A9?= <jose@x.example>, broken<<\n" +
		"this line is garbage\n" +
		"To: Sam <sam@example.com>;  other@y.example\n" +
		"Subject: =?iso-8859-1?q?R=E9union?=\n" +
		"Date: Tue, 1 Dec 2026 9:05:00 -0800 (PST)\n" +
		"Message-ID: <a@b>\n" +
		"In-Reply-To: junk <x@y> trailing\n" +
		"References: <r1@x>\n <r2@x>\n" +
		"\nThursday works.\n"
	m, err := Read([]byte(raw), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.From.Address != "jose@x.example" || m.From.Name != "José" {
		t.Errorf("From = %+v", m.From)
	}
	if len(m.To) != 2 || m.To[1].Address != "other@y.example" {
		t.Errorf("To = %+v", m.To)
	}
	if m.Subject != "Réunion" || m.MessageID != "a@b" || m.InReplyTo != "x@y" || strings.Join(m.References, " ") != "r1@x r2@x" {
		t.Errorf("Subject %q MessageID %q InReplyTo %q References %v", m.Subject, m.MessageID, m.InReplyTo, m.References)
	}
	if want := time.Date(2026, 12, 1, 17, 5, 0, 0, time.UTC); !m.Date.Equal(want) {
		t.Errorf("Date = %v, want %v", m.Date, want)
	}
	if m.NewText != "Thursday works." || m.Kind() != KindReply {
		t.Errorf("NewText %q Kind %q", m.NewText, m.Kind())
	}
}

func TestKindPrecedence(t *testing.T) {
	cal := []byte("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n")
	tests := []struct {
		name string
		m    Message
		want Kind
	}{
		{"plain", Message{}, KindReply},
		{"bounce over auto", Message{Bounce: &Bounce{}, Auto: &AutoReply{}}, KindBounce},
		{"delayed is unrelated", Message{Bounce: &Bounce{Delayed: true}}, KindUnrelated},
		{"auto over calendar", Message{Auto: &AutoReply{}, Calendar: cal, CalendarMethod: "REPLY"}, KindAutoReply},
		{"calendar over list", Message{List: true, Calendar: cal, CalendarMethod: "COUNTER"}, KindCalendar},
		{"publish is no reply", Message{Calendar: cal, CalendarMethod: "PUBLISH"}, KindReply},
		{"list", Message{List: true}, KindUnrelated},
		{"read receipt", Message{Receipt: true}, KindUnrelated},
	}
	for _, tt := range tests {
		if got := tt.m.Kind(); got != tt.want {
			t.Errorf("%s: Kind() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestIMIPReplyMarkedAutomatic(t *testing.T) {
	raw := "From: room@x.example\nSubject: Accepted: chat\nAuto-Submitted: auto-generated\nContent-Type: text/calendar; method=REPLY\n\n" +
		"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:u1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	m, err := Read([]byte(raw), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != KindCalendar || m.CalendarMethod != "REPLY" {
		t.Errorf("an automatic iMIP REPLY: Kind() = %q, method %q, want calendar_reply, REPLY", m.Kind(), m.CalendarMethod)
	}
}

func TestAutoReplyHeaders(t *testing.T) {
	base := "From: a@x.example\nTo: sam@example.com\nSubject: Re: hi\n"
	tests := []struct {
		hdr  string
		auto bool
	}{
		{"Auto-Submitted: auto-replied\n", true},
		{"Auto-Submitted: no\n", false},
		{"X-Autoreply: yes\n", true},
		{"X-Autorespond: vacation\n", true},
		{"Precedence: auto_reply\n", true},
		{"Precedence: junk\n", true},
		{"Precedence: bulk\nList-Id: <l.x.example>\n", false}, // a newsletter: List, not an auto-reply
		{"Return-Path: <>\n", true},
		{"X-Auto-Response-Suppress: All\n", false},
		{"X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: a@x.example\n", true},
	}
	for _, tt := range tests {
		m, err := Read([]byte(tt.hdr+base+"\nThursday works.\n"), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if (m.Auto != nil) != tt.auto {
			t.Errorf("headers %q: auto = %v, want %v", tt.hdr, m.Auto != nil, tt.auto)
		}
	}
	for _, s := range []string{"Automatic reply: hi", "Out of Office: hi", "Abwesenheitsnotiz: hi", "Réponse automatique : hi", "Respuesta automática: hi", "Risposta automatica: hi", "Automatisch antwoord: hi", "自动回复: hi"} {
		m, _ := Read([]byte("From: a@x.example\nSubject: "+encodeWord(s)+"\n\nback soon\n"), ReadOptions{})
		if m == nil || m.Kind() != KindAutoReply {
			t.Errorf("subject %q is not read as an auto-reply", s)
		}
	}
	m, _ := Read([]byte("From: a@x.example\nSubject: Re: Out of office next week?\n\nShall we meet before?\n"), ReadOptions{})
	if m.Kind() != KindReply {
		t.Errorf("a human reply about being out of office is read as %q", m.Kind())
	}
}

func encodeWord(s string) string {
	for _, r := range s {
		if r > 127 {
			return "=?utf-8?b?" + b64(s) + "?="
		}
	}
	return s
}

func b64(s string) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b strings.Builder
	in := []byte(s)
	for i := 0; i < len(in); i += 3 {
		var v uint
		n := min(3, len(in)-i)
		for j := 0; j < 3; j++ {
			v <<= 8
			if j < n {
				v |= uint(in[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= n {
				b.WriteByte(enc[(v>>(18-6*j))&63])
			} else {
				b.WriteByte('=')
			}
		}
	}
	return b.String()
}

func TestStripQuotes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"gmail", "Thursday works.\n\nOn Mon, Nov 30, 2026 at 5:00 PM Sam Rivera <sam@example.com> wrote:\n\n> Any of these times work for me?\n", "Thursday works."},
		{"gmail wrapped 3 lines", "Yes.\n\nOn Mon, Nov 30, 2026 at 5:00 PM Sam Rivera via Group\n<\nsam@example.com> wrote:\n\n> old\n", "Yes."},
		{"outlook block", "OK for me.\n\nFrom: Sam <sam@example.com>\nSent: Monday, November 30, 2026 5:00 PM\nTo: Jane\nSubject: hi\n\nold text works for me\n", "OK for me."},
		{"outlook rule", "Fine.\n________________________________\nFrom: Sam\nSent: Monday\nTo: Jane\n\nold\n", "Fine."},
		{"original message", "Sure.\n\n-----Original Message-----\nFrom: Sam\nold\n", "Sure."},
		{"forwarded", "FYI\n\n---------- Forwarded message ---------\nFrom: Sam\nold\n", "FYI"},
		{"apple", "Yes!\n\n> On Nov 30, 2026, at 5:00 PM, Sam Rivera <sam@example.com> wrote:\n> \n> old\n", "Yes!"},
		{"german", "Passt.\n\nAm Mo., 30. Nov. 2026 um 17:00 Uhr schrieb Sam Rivera <\nsam@example.com>:\n> alt\n", "Passt."},
		{"french", "D'accord.\n\nLe lun. 30 nov. 2026 à 17:00, Sam Rivera <sam@example.com> a écrit :\n> vieux\n", "D'accord."},
		{"spanish", "Vale.\n\nEl lun, 30 nov 2026 a las 17:00, Sam Rivera (<sam@example.com>)\nescribió:\n> viejo\n", "Vale."},
		{"dutch", "Prima.\n\nOp ma 30 nov 2026 om 17:00 schreef Sam Rivera <sam@example.com>:\n> oud\n", "Prima."},
		{"bottom posting", "On 11/30/26 5:00 PM, Sam Rivera wrote:\n> Does Wednesday work for me?\n\nWednesday at 10 is fine.\n", "Wednesday at 10 is fine."},
		{"interleaved", "> 1. Wednesday\nYes, this one.\n> 2. Thursday\n", "Yes, this one."},
		{"signature", "Thursday.\n\n-- \nJane | Office hours 9-5\n", "Thursday."},
		{"iphone", "Thursday.\n\nSent from my iPhone\n\n> On Nov 30...\n", "Thursday."},
		{"outlook mobile", "Thursday.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n", "Thursday."},
		{"sign-off block", "Thursday at 2 works.\n\nBest regards,\nJane Doe\nDirector | Acme\n+1 555 0100\n", "Thursday at 2 works."},
		{"no quote", "Just text.\nTwo lines.", "Just text.\nTwo lines."},
	}
	for _, tt := range tests {
		if got := StripQuotes(tt.in); got != tt.want {
			t.Errorf("%s: StripQuotes(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	in := `<html><head><style>p{color:red}</style><title>x</title></head><body><div>Hi&nbsp;Sam,</div><div><br></div>` +
		`<p>Thursday   works &amp; <b>2pm</b> is fine.</p><script>alert(1)</script><!-- note --><ul><li>one</li><li>two</li></ul>` +
		`<blockquote>quoted<br>lines</blockquote><table><tr><td>a</td><td>b</td></tr></table></body></html>`
	want := "Hi Sam,\n\nThursday works & 2pm is fine.\none\ntwo\n> quoted\n> lines\na b"
	if got := HTMLToText(in); got != want {
		t.Errorf("HTMLToText = %q, want %q", got, want)
	}
	if got, want := HTMLToText(`<p>Meet <a href="mailto:jane@acme.example">Jane Doe</a> and <a href="mailto:tom@acme.example">tom@acme.example</a></p>`),
		"Meet Jane Doe <jane@acme.example> and tom@acme.example"; got != want {
		t.Errorf("HTMLToText(mailto links) = %q, want %q", got, want)
	}
	for name, h := range map[string]string{
		"gmail":   `<div dir="ltr">Yes!</div><div class="gmail_quote"><div class="gmail_attr">On Mon wrote:</div><blockquote class="gmail_quote">works for me</blockquote></div>`,
		"apple":   `<div>Yes!</div><div><br><blockquote type="cite"><div>On Nov 30 wrote:</div><div>works for me</div></blockquote></div>`,
		"outlook": `<div>Yes!</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Sam</div><div>works for me</div>`,
		"yahoo":   `<div>Yes!</div><div id="yahoo_quoted_1" class="yahoo_quoted"><div>works for me</div></div>`,
	} {
		if got := htmlNewText(h); got != "Yes!" {
			t.Errorf("%s: htmlNewText = %q, want %q", name, got, "Yes!")
		}
	}
}

func TestReadMIME(t *testing.T) {
	raw := "From: Jane <jane@x.example>\nSubject: Re: hi\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"m\"\n\n" +
		"--m\nContent-Type: multipart/alternative; boundary=\"a\"\n\n" +
		"--a\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nJeudi =E0 14h.\n" +
		"--a\nContent-Type: text/html; charset=utf-8\n\n<p>HTML version</p>\n--a--\n" +
		"--m\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=cv.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n" +
		"--m\nContent-Type: text/plain\nContent-Disposition: attachment; filename=notes.txt\n\nattached notes\n" +
		"--m\nContent-Type: application/octet-stream; name=\"invite.ics\"\nContent-Transfer-Encoding: base64\n\n" +
		"QkVHSU46VkNBTEVOREFSDQpNRVRIT0Q6Q09VTlRFUg0KRU5EOlZDQUxFTkRBUg0K\n--m--\n"
	m, err := Read([]byte(raw), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Jeudi à 14h." {
		t.Errorf("Text = %q, want the text/plain alternative decoded", m.Text)
	}
	if m.CalendarMethod != "COUNTER" || !strings.Contains(string(m.Calendar), "BEGIN:VCALENDAR") || m.Kind() != KindCalendar {
		t.Errorf("Calendar %q method %q kind %q", m.Calendar, m.CalendarMethod, m.Kind())
	}

	// HTML only, base64, with an unknown charset: best effort, no error
	raw = "From: a@x.example\nContent-Type: text/html; charset=x-nonsense\nContent-Transfer-Encoding: base64\n\n" +
		"PGRpdj5XZWRuZXNkYXkgd29ya3MuPC9kaXY+\n"
	m, err = Read([]byte(raw), ReadOptions{})
	if err != nil || m.NewText != "Wednesday works." {
		t.Errorf("Read(html, unknown charset) = %v, NewText %q", err, m.NewText)
	}
}

func TestMentioned(t *testing.T) {
	text := "Sam, meet Jane Doe <jane@acme.example> and Marcus Lee (marcus@league.example). " +
		"You can also reach Tanya at tanya@agency.example.\nPriya's email is priya@studio.example\nI'm at me@self.example.\n" +
		"Talk to my old colleague Maria Santos. Her email is maria@teamworks.example"
	got := mentionedAddresses(text, "me@self.example")
	want := map[string]string{"jane@acme.example": "Jane Doe", "marcus@league.example": "Marcus Lee", "tanya@agency.example": "Tanya", "priya@studio.example": "Priya", "maria@teamworks.example": "Maria Santos"}
	if len(got) != len(want) {
		t.Fatalf("mentionedAddresses = %+v, want %v", got, want)
	}
	for _, a := range got {
		if want[a.Address] != a.Name {
			t.Errorf("mentioned %q with name %q, want %q", a.Address, a.Name, want[a.Address])
		}
	}
}

// BenchmarkReadCorpus prints how long reading one fixture message takes.
func BenchmarkReadCorpus(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	var raws [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, raw := range raws {
			if _, err := Read(raw, ReadOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws))/1e3, "µs/message")
}

func TestOutlookDesktopHTML(t *testing.T) {
	h := `<html><body lang="EN-US"><div class="WordSection1"><p class="MsoNormal">Thursday at 2 works.<o:p></o:p></p>` +
		`<p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in">` +
		`<p class="MsoNormal"><b>From:</b> Sam Rivera &lt;sam@example.com&gt; <br><b>Sent:</b> Monday, November 30, 2026 5:00 PM<br>` +
		`<b>To:</b> Kim Lee &lt;klee@arena.example&gt;<br><b>Subject:</b> Quick question<o:p></o:p></p></div></div>` +
		`<p class="MsoNormal">Any of these times work for me<o:p></o:p></p></div></body></html>`
	m, err := Read([]byte("From: Kim Lee <klee@arena.example>\nContent-Type: text/html; charset=us-ascii\n\n"+h), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.NewText != "Thursday at 2 works." {
		t.Errorf("Outlook desktop HTML: NewText = %q, want %q", m.NewText, "Thursday at 2 works.")
	}
}
