package outreach

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/coffeechat/coffeechat/mailer"
)

//go:embed templates/*.tmpl
var defaultTemplates embed.FS

// Template names: one per kind of email coffeechat drafts.
const (
	TmplIntroRequest     = "intro_request"
	TmplInterviewRequest = "interview_request"
	TmplFollowup         = "followup"
	TmplThanks           = "thanks"
	TmplCloseLoop        = "close_loop"
	TmplInviteNote       = "invite_note" // the text above an invitation
	TmplIntroReply       = "intro_reply" // the interview request answering an introduction
)

// TemplateNames lists every template, in a stable order.
var TemplateNames = []string{TmplIntroRequest, TmplInterviewRequest, TmplFollowup, TmplThanks, TmplCloseLoop, TmplInviteNote, TmplIntroReply}

// Person is someone a template talks about.
type Person struct {
	Name      string
	FirstName string
	Email     string
	Org       string
	Role      string
}

// Data is what every template may use. Fields that do not apply to a given
// email are empty (an empty Person has an empty Name).
type Data struct {
	Me             Person   // the user (account.name, account.email)
	To             Person   // the recipient
	Target         Person   // intro: the person to be introduced to; else the recipient
	Connector      Person   // the person who knows the target (intro: the recipient)
	ConnectionNote string   // how the connector knows the target ("plays tennis with Dad")
	LookingFor     string   // intro: "someone in sports marketing", "anyone at Acme"
	Topic          string   // what the user is curious about
	Slots          []string // proposed times, written in the user's zone
	Zone           string   // the user's zone abbreviation or name
	Subject        string   // the subject of the thread being followed up
	Meeting        string   // the agreed time, written in the user's zone
	Location       string   // calendar.location
}

// sampleData fills every field, so executing a template against it finds
// any unknown field at load time.
func sampleData() Data {
	p := func(n, f, e string) Person {
		return Person{Name: n, FirstName: f, Email: e, Org: "Acme Sports", Role: "marketing director"}
	}
	return Data{
		Me: p("Sam Rivera", "Sam", "sam@example.com"), To: p("Jane Doe", "Jane", "jane@example.com"),
		Target: p("Jane Doe", "Jane", "jane@example.com"), Connector: p("Pat Rivera", "Pat", "pat@example.com"),
		ConnectionNote: "plays tennis with Pat", LookingFor: "someone in sports marketing", Topic: "sports marketing",
		Slots: []string{"Tue Dec 8, 10:00–10:30 (PST)"}, Zone: "PST", Subject: "Advice?",
		Meeting: "Tue Dec 8, 10:00–10:30 (PST)", Location: "https://meet.example/abc",
	}
}

// Templates are the parsed templates, defaults overridden by the user's files.
type Templates struct {
	byName map[string]*template.Template
	source map[string]string // name → file the template came from
}

// Source is where the named template came from ("(built-in) templates/x.tmpl" or a path).
func (t *Templates) Source(name string) string { return t.source[name] }

// DefaultTemplate returns the embedded text of a template.
func DefaultTemplate(name string) ([]byte, error) {
	return defaultTemplates.ReadFile("templates/" + name + ".tmpl")
}

// LoadTemplates parses the embedded defaults and then every NAME.tmpl in dir
// (which may be missing or empty). Each template is executed once against a
// full sample, so an unknown field or a broken header block fails here, with
// the file and line.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{byName: map[string]*template.Template{}, source: map[string]string{}}
	for _, name := range TemplateNames {
		b, err := DefaultTemplate(name)
		if err != nil {
			return nil, fmt.Errorf("built-in template %s: %w", name, err)
		}
		if err := t.add(name, "(built-in) templates/"+name+".tmpl", string(b)); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		return t, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("templates folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".tmpl")
		path := filepath.Join(dir, e.Name())
		if _, ok := t.byName[name]; !ok {
			known := append([]string(nil), TemplateNames...)
			sort.Strings(known)
			return nil, fmt.Errorf("%s: no template is called %q (known: %s)", path, name, strings.Join(known, ", "))
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
		if err := t.add(name, path, string(b)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Templates) add(name, path, text string) error {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	tm, err := template.New(path).Option("missingkey=error").Parse(text)
	if err != nil {
		return templateError(path, err)
	}
	if err := checkFieldNames(tm, path); err != nil {
		return err
	}
	t.byName[name], t.source[name] = tm, path
	if _, _, err := t.Render(name, sampleData()); err != nil {
		delete(t.byName, name)
		return err
	}
	return nil
}

// tmplErr matches the "template: NAME:LINE[:COL]: rest" of text/template errors.
var tmplErr = regexp.MustCompile(`^template: (.*?):(\d+)(?::\d+)?: (.*)$`)

// templateError rewrites a text/template error as "path:line: what".
func templateError(path string, err error) error {
	msg := err.Error()
	if m := tmplErr.FindStringSubmatch(msg); m != nil && strings.HasPrefix(m[1], path) {
		rest := m[3]
		// executing "path" at <.Foo>: can't evaluate field Foo in type outreach.Data
		if i := strings.Index(rest, "at <"); i >= 0 && strings.HasPrefix(rest, "executing") {
			rest = rest[i+3:]
		}
		rest = strings.Replace(rest, "in type outreach.Data", "(unknown field; see the fields in the README of the templates folder)", 1)
		rest = strings.Replace(rest, "in type outreach.Person", "(unknown field of a person: Name, FirstName, Email, Org, Role)", 1)
		return fmt.Errorf("template %s:%s: %s", path, m[2], rest)
	}
	return fmt.Errorf("template %s: %w", path, err)
}

// Render executes the named template and splits its header block: it returns
// the subject and the body. A subject that would break the header is refused.
func (t *Templates) Render(name string, d Data) (subject, body string, err error) {
	tm, ok := t.byName[name]
	if !ok {
		return "", "", fmt.Errorf("no template called %q", name)
	}
	path := t.source[name]
	var buf bytes.Buffer
	if err := tm.Execute(&buf, d); err != nil {
		return "", "", templateError(path, err)
	}
	head, body, ok := strings.Cut(buf.String(), "\n\n")
	if !ok {
		return "", "", fmt.Errorf("template %s: want a header block (Subject: ...), a blank line, then the body", path)
	}
	for i, line := range strings.Split(head, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "subject") {
			return "", "", fmt.Errorf("template %s:%d: only a Subject: header is allowed in the header block, got %q", path, i+1, line)
		}
		subject = strings.TrimSpace(v)
	}
	if subject == "" {
		return "", "", fmt.Errorf("template %s:1: the Subject: header is empty", path)
	}
	if err := mailer.CheckHeader("subject", subject); err != nil {
		return "", "", fmt.Errorf("template %s: %w", path, err)
	}
	return subject, strings.TrimSpace(body) + "\n", nil
}

// TemplatesReadme is the README.txt that init puts in the templates folder.
const TemplatesReadme = `coffeechat templates
====================

A file here named after a template replaces the built-in one:

  intro_request.tmpl      asking a connector for an introduction (with a forwardable blurb)
  interview_request.tmpl  asking someone directly for 20-30 minutes, with proposed times
  followup.tmpl           one polite nudge when there was no answer
  thanks.tmpl             thank-you after the conversation
  close_loop.tmpl         telling the connector how it went
  invite_note.tmpl        the text above a calendar invitation
  intro_reply.tmpl        answering an introduction: thanks the connector (moved to Bcc), asks the target

Each file is a Go text/template: a header block (only "Subject: ...") then a
blank line, then the body. "coffeechat init --write-templates" copies the
built-in ones here for editing. A template that uses an unknown field is
refused when coffeechat starts, with the file and line.

Fields:
  .Me .To .Target .Connector   people: .Name .FirstName .Email .Org .Role
                               (.Connector.Name is empty when nobody connected you)
  .ConnectionNote  how the connector knows the target
  .LookingFor      an intro by description ("someone in sports marketing")
  .Topic           what you are curious about
  .Slots           proposed times, already written in your zone (a list)
  .Zone            your zone
  .Subject         the subject of the thread (follow-ups)
  .Meeting         the agreed time (thanks, close_loop, invite_note)
  .Location        calendar.location
`
