package outreach

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultsRenderForEveryAsk(t *testing.T) {
	tm, err := LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	me := Person{Name: "Sam Rivera", FirstName: "Sam", Email: "sam@example.com"}
	dad := Person{Name: "Pat Rivera", FirstName: "Pat", Email: "pat@example.com"}
	jane := Person{Name: "Jane Doe", FirstName: "Jane", Email: "jane@example.com", Org: "Acme", Role: "brand manager"}
	cases := map[string]Data{
		"intro to a named person": {Me: me, To: dad, Connector: dad, Target: jane, Topic: "sports marketing", ConnectionNote: "tennis"},
		"intro by looking-for":    {Me: me, To: dad, Connector: dad, LookingFor: "sports marketing"},
		"direct ask":              {Me: me, To: jane, Target: jane, Slots: []string{"Tue Dec 8, 10:00–10:30 (PST)"}, Meeting: "Tue Dec 8, 10:00–10:30 (PST)"},
		"direct ask, bare":        {Me: me, To: jane, Target: jane},
	}
	for _, name := range TemplateNames {
		for cname, d := range cases {
			subject, body, err := tm.Render(name, d)
			if err != nil {
				t.Errorf("Render(%s, %s) = %v", name, cname, err)
				continue
			}
			if subject == "" || strings.Contains(subject, "<no value>") || strings.Contains(body, "<no value>") {
				t.Errorf("Render(%s, %s) = %q / %q: empty or missing value", name, cname, subject, body)
			}
			if !strings.Contains(body, "Sam Rivera") || !strings.Contains(body, "Hi "+d.To.FirstName) {
				t.Errorf("Render(%s, %s): body does not greet %s and sign as Sam:\n%s", name, cname, d.To.FirstName, body)
			}
		}
	}
	// The interview request offers the slots and an easy way out.
	_, body, _ := tm.Render(TmplInterviewRequest, cases["direct ask"])
	for _, want := range []string{"Tue Dec 8, 10:00–10:30 (PST)", "20–30 minutes", "no worries"} {
		if !strings.Contains(body, want) {
			t.Errorf("interview request lacks %q:\n%s", want, body)
		}
	}
	// The connection note is the user's own memo ("tennis", "plays tennis
	// with Dad"): the email to the connector must not quote it back at them.
	_, body, _ = tm.Render(TmplIntroRequest, cases["intro to a named person"])
	if strings.Contains(body, "tennis") || !strings.Contains(body, "you know Jane") {
		t.Errorf("intro request quotes the private connection note, or does not say the connector knows Jane:\n%s", body)
	}
	_, body, _ = tm.Render(TmplIntroRequest, cases["intro by looking-for"])
	if !strings.Contains(body, "sports marketing") || !strings.Contains(body, "forward") {
		t.Errorf("intro request by looking-for lacks the topic or the forwardable note:\n%s", body)
	}
}

func TestTemplateOverrideAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("README.txt", "ignored")
	p := write("thanks.tmpl", "Subject: Merci {{.To.FirstName}}\n\nMerci!\n{{.Me.Name}}\n")
	tm, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := tm.Render(TmplThanks, Data{To: Person{FirstName: "Jane"}}); s != "Merci Jane" {
		t.Errorf("override subject = %q", s)
	}
	if tm.Source(TmplThanks) != p {
		t.Errorf("Source = %q, want %q", tm.Source(TmplThanks), p)
	}

	bad := []struct{ name, text, want string }{
		{"thanks.tmpl", "Subject: Hi\n\nHello {{.To.FirstName}},\n\n{{.Interviewer}}\n", ":5: <.Interviewer>"},
		{"thanks.tmpl", "Subject: Hi\n\nHello {{.To.Nickname}}\n", ":3: "},
		{"thanks.tmpl", "Subject: Hi\n\n{{if .Topic}}\n", "unexpected EOF"},
		{"followup.tmpl", "From: x\nSubject: Hi\n\nbody\n", ":1: only a Subject"},
		{"followup.tmpl", "Subject: Hi {{.Topic}}\nBcc: evil@example.com\n\nbody\n", ":2: only a Subject"},
		{"invite_note.tmpl", "Subject: Hi\nno blank line", "want a header block"},
		{"intro.tmpl", "Subject: x\n\ny\n", `no template is called "intro"`},
		// Branches the sample does not take are checked too.
		{"thanks.tmpl", "Subject: Hi\n\n{{if .Connector.Name}}Hi{{else}}\n{{.Nope}}{{end}}\n", ":4: <.Nope>"},
		{"thanks.tmpl", "Subject: Hi\n\n{{range .Slots}}{{.}}{{else}}\n\n{{.To.Nickname}}{{end}}\n", ":5: <.To.Nickname>"},
		{"thanks.tmpl", "Subject: Hi\n\n{{with .Meeting}}{{else}}{{$.Me.Surname}}{{end}}\n", ":3: <$.Me.Surname>"},
		{"thanks.tmpl", "Subject: Hi\n\n{{if not .Slots}}{{.Topic.Name}}{{end}}\n", ":3: <.Topic.Name>"},
	}
	for _, b := range bad {
		d := t.TempDir()
		path := filepath.Join(d, b.name)
		os.WriteFile(path, []byte(b.text), 0o644)
		_, err := LoadTemplates(d)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("LoadTemplates(%s %q) = %v, want the path and %q", b.name, b.text, err, b.want)
		}
	}
}

func TestParseDraftText(t *testing.T) {
	good := "To: Jane Doe <jane@example.com>,\n  \"Doe, John\" <john@example.com>\nCc:\nBcc: me@example.com\nSubject: Hello there\n\nBody line\n\n"
	e, err := ParseDraftText(good)
	if err != nil {
		t.Fatal(err)
	}
	if e.To != `Jane Doe <jane@example.com>, "Doe, John" <john@example.com>` || e.Bcc != "me@example.com" || e.Subject != "Hello there" || e.Body != "Body line\n" {
		t.Errorf("ParseDraftText = %+v", e)
	}
	bad := []struct{ text, want string }{
		{"To: jane@example.com\nSubject: Hi\nReply-To: evil@example.com\n\nbody", `line 3: unknown header "reply-to"`},
		{"To: jane@example.com\nSubject: =?utf-8?q?Hi=0D=0ABcc:_evil@example.com?=\n\nbody", "line 2: subject"},
		{"To: jane@example.com\nSubject: Hi\u2028Bcc: evil@example.com\n\nbody", "line 2: subject"},
		{"To: not an address\nSubject: Hi\n\nbody", "line 1: to"},
		{"To: =?utf-8?q?Eve=0D=0ABcc:_x@example.com?= <eve@example.com>\nSubject: Hi\n\nbody", "line 1: to"},
		{"To: jane@example.com\nTo: john@example.com\nSubject: Hi\n\nbody", "line 2: to: appears twice"},
		{"Subject: Hi\n\nbody", "To: needs"},
		{"To: jane@example.com\nSubject: Hi\nbody without blank line", `line 3: "body without blank line" is not a header`},
		{"To: jane@example.com\nSubject: Hi\n\n   \n", "the body is empty"},
	}
	for _, b := range bad {
		_, err := ParseDraftText(b.text)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseDraftText(%q) = %v, want %q", b.text, err, b.want)
		}
	}
}

func TestFormatAddressRoundTrip(t *testing.T) {
	for _, name := range []string{"Jane Doe", "Doe, Jane", `Jane "JD" Doe`, "Zoë Müller-Świątek", "O'Brien", ""} {
		s := FormatAddress(name, "x@example.com")
		as, err := ParseAddressList("to", s)
		if err != nil || len(as) != 1 || as[0].Name != name || as[0].Address != "x@example.com" {
			t.Errorf("FormatAddress(%q) = %q, parsed back as %v, %v", name, s, as, err)
		}
	}
}
