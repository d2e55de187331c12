package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// env is a temporary HOME with XDG folders, for one test.
type env struct {
	t    *testing.T
	vars map[string]string
}

func newEnv(t *testing.T) *env {
	home := t.TempDir()
	e := &env{t: t, vars: map[string]string{
		"HOME":            home,
		"XDG_CONFIG_HOME": filepath.Join(home, "cfg"),
		"XDG_DATA_HOME":   filepath.Join(home, "data"),
		"TMPDIR":          t.TempDir(),
		"PATH":            os.Getenv("PATH"),
	}}
	return e
}

func (e *env) getenv(k string) string { return e.vars[k] }

// run runs one command line and returns stdout, stderr as printed by main.
func (e *env) run(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, e.getenv, strings.NewReader(""), &out, &errb)
	if err != nil {
		printError(&errb, err)
	}
	return out.String(), errb.String(), err
}

func (e *env) ok(args ...string) string {
	e.t.Helper()
	out, errs, err := e.run(args...)
	if err != nil {
		e.t.Fatalf("coffeechat %s: %v\n%s", strings.Join(args, " "), err, errs)
	}
	return out
}

func (e *env) fails(want string, args ...string) string {
	e.t.Helper()
	_, errs, err := e.run(args...)
	if err == nil {
		e.t.Fatalf("coffeechat %s succeeded, want an error with %q", strings.Join(args, " "), want)
	}
	if !strings.Contains(errs, want) {
		e.t.Fatalf("coffeechat %s: stderr %q, want %q", strings.Join(args, " "), errs, want)
	}
	return errs
}

func (e *env) json(v any, args ...string) {
	e.t.Helper()
	out := e.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("coffeechat %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// initEnv runs init and pins the zone.
func initEnv(t *testing.T) *env {
	e := newEnv(t)
	out := e.ok("init", "--name", "Sam Rivera", "--email", "sam@example.com")
	for _, want := range []string{"written", "created", "coffeechat doctor", "coffeechat run"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	cfg := filepath.Join(e.vars["XDG_CONFIG_HOME"], "coffeechat", "config.toml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`timezone = ""`), []byte(`timezone = "America/Los_Angeles"`), 1)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestInitNeverOverwrites(t *testing.T) {
	e := initEnv(t)
	cfg := filepath.Join(e.vars["XDG_CONFIG_HOME"], "coffeechat", "config.toml")
	before, _ := os.ReadFile(cfg)
	if !bytes.Contains(before, []byte(`name = "Sam Rivera"`)) || !bytes.Contains(before, []byte(`email = "sam@example.com"`)) {
		t.Fatalf("init did not fill the account:\n%s", before)
	}
	out := e.ok("init", "--write-templates", "--name", "Other")
	after, _ := os.ReadFile(cfg)
	if !bytes.Equal(before, after) || !strings.Contains(out, "exists: left as it is") {
		t.Fatalf("second init changed the config or did not say so:\n%s", out)
	}
	tmpl := filepath.Join(e.vars["XDG_CONFIG_HOME"], "coffeechat", "templates")
	for _, f := range []string{"README.txt", "intro_request.tmpl", "interview_request.tmpl", "thanks.tmpl"} {
		if _, err := os.Stat(filepath.Join(tmpl, f)); err != nil {
			t.Errorf("templates folder lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.vars["XDG_DATA_HOME"], "coffeechat", "coffeechat.db")); err != nil {
		t.Errorf("no database: %v", err)
	}
	// An edited template stays, and a broken one is named with its line.
	os.WriteFile(filepath.Join(tmpl, "thanks.tmpl"), []byte("Subject: x\n\n{{.Nope}}\n"), 0o644)
	e.fails("thanks.tmpl:3", "queue")
	// A command before init says what to do.
	fresh := newEnv(t)
	fresh.fails("Try: coffeechat init", "queue")
	fresh.fails("--name", "init", "--name", "Sam\r\nBcc: evil@example.com")
}

func TestWholeStory(t *testing.T) {
	e := initEnv(t)
	e.ok("contact", "add", "Dad", "--email", "dad@example.com", "--tag", "family")
	e.ok("contact", "add", "Jane Doe", "--email", "Jane@Acme.example", "--org", "Acme", "--role", "brand manager", "--tag", "sports")
	e.ok("contact", "add", "Jane Smith", "--email", "jsmith@example.com")
	e.fails("already belongs to contact 2 (Jane Doe)", "contact", "add", "Impostor", "--email", "jane@acme.example")
	e.ok("contact", "link", "dad", "jane@acme.example", "--note", "plays tennis with Dad")
	if out := e.ok("contact", "link", "1", "2"); !strings.Contains(out, "already knew") {
		t.Errorf("second link: %q", out)
	}

	// Ambiguous and unknown references.
	errs := e.fails(`"jane" matches 2 contacts`, "ask", "interview", "--to", "jane")
	if !strings.Contains(errs, "2  Jane Doe <jane@acme.example>") || !strings.Contains(errs, "3  Jane Smith <jsmith@example.com>") {
		t.Errorf("ambiguous REF does not list the candidates:\n%s", errs)
	}
	e.fails("no contact's name starts with", "ask", "interview", "--to", "Nobody")

	var list []contactJSON
	e.json(&list, "contact", "list", "--tag", "sports")
	if len(list) != 1 || list[0].Name != "Jane Doe" || list[0].Emails[0] != "jane@acme.example" {
		t.Fatalf("contact list --tag sports = %+v", list)
	}
	if out := e.ok("contact", "list", "--tag", "chess"); !strings.Contains(out, `No contact has the tag "chess"`) {
		t.Errorf("contact list --tag with no match (there are contacts) says %q", out)
	}

	// An intro ask and an interview ask.
	out := e.ok("ask", "intro", "--via", "dad", "--to", "jane doe", "--topic", "sports marketing")
	if !strings.Contains(out, "ask 1 (intro) created; draft 1") {
		t.Fatalf("ask intro: %s", out)
	}
	e.fails("ask 1 (intro, draft) already covers this", "ask", "intro", "--via", "1", "--to", "2")
	e.ok("ask", "interview", "--to", "jane@acme.example", "--topic", "sports marketing")
	e.ok("ask", "intro", "--via", "dad", "--looking-for", "anyone in product design")

	var queue []map[string]any
	e.json(&queue, "queue")
	if len(queue) != 3 || queue[0]["id"] != "1" || queue[0]["purpose"] != "intro_request" || queue[1]["to"] != "Jane Doe <jane@acme.example>" {
		t.Fatalf("queue = %v", queue)
	}
	if raw := e.ok("queue", "--json"); !strings.Contains(raw, `"Jane Doe <jane@acme.example>"`) {
		t.Errorf("queue --json escapes the address's angle brackets:\n%s", raw)
	}
	show := e.ok("show", "2")
	for _, want := range []string{"From: Sam Rivera <sam@example.com>", "To: Jane Doe <jane@acme.example>", "Message-ID: <cc.", "@example.com>",
		"I got your name from Dad", "(PST)", "(PDT)"} {
		if want == "(PDT)" || want == "(PST)" {
			if !strings.Contains(show, "(PST)") && !strings.Contains(show, "(PDT)") {
				t.Errorf("show 2: slots not in the account zone:\n%s", show)
			}
			continue
		}
		if !strings.Contains(show, want) {
			t.Errorf("show 2 lacks %q:\n%s", want, show)
		}
	}
	if n := strings.Count(show, "\n  - "); n != 3 {
		t.Errorf("show 2 proposes %d slots, want 3:\n%s", n, show)
	}
	// A second interview elsewhere does not offer the same times.
	e.ok("contact", "add", "Lee", "--email", "lee@example.com")
	e.ok("ask", "interview", "--to", "lee")
	show3 := e.ok("show", e.lastDraft())
	for _, line := range strings.Split(show, "\n") {
		if strings.HasPrefix(line, "  - ") && strings.Contains(show3, line) {
			t.Errorf("slot %q offered twice", line)
		}
	}

	// Edit: a good rewrite, a broken one, an injection.
	wd, _ := os.Getwd()
	e.vars["EDITOR"] = filepath.Join(wd, "testdata", "editor_rewrite.sh")
	if out := e.ok("edit", "2"); !strings.Contains(out, "saved") {
		t.Fatalf("edit: %s", out)
	}
	show = e.ok("show", "2")
	for _, want := range []string{"Subject: Quick question about sports marketing", "Cc: Pat Rivera <pat@example.com>", "P.S. Edited by hand."} {
		if !strings.Contains(show, want) {
			t.Errorf("after edit, show 2 lacks %q:\n%s", want, show)
		}
	}
	for _, script := range []string{"editor_break.sh", "editor_inject.sh"} {
		e.vars["EDITOR"] = filepath.Join(wd, "testdata", script)
		errs := e.fails("the draft is unchanged and your text is kept in", "edit", "2")
		kept := errs[strings.Index(errs, "kept in ")+len("kept in "):]
		kept = kept[:strings.Index(kept, ":")]
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s: kept file %q: %v", script, kept, err)
		}
		if e.ok("show", "2") != show {
			t.Errorf("%s: the draft changed", script)
		}
	}

	// Approve, reject.
	e.fails("nothing has the id 99", "approve", "1", "99")
	e.json(&queue, "queue")
	if len(queue) != 4 || queue[0]["state"] != "draft" {
		t.Fatalf("a failed approve changed the queue: %v", queue)
	}
	e.ok("approve", "1")
	e.fails("it is approved, not a draft", "reject", "1")
	out = e.ok("reject", "3", "--reason", "asked Dad in person")
	if !strings.Contains(out, "3 rejected; ask 3 closed") {
		t.Errorf("reject 3: %s", out)
	}
	var asks []map[string]any
	e.json(&asks, "asks")
	if len(asks) != 4 || asks[0]["state"] != "draft" || asks[2]["state"] != "closed" || asks[0]["via"] != "Dad" || asks[1]["who"] != "Jane Doe" {
		t.Fatalf("asks = %v", asks)
	}
	e.json(&asks, "asks", "--state", "closed")
	if len(asks) != 1 {
		t.Fatalf("asks --state closed = %v", asks)
	}
	var tl struct {
		State  string
		Events []struct{ Event, Detail string }
	}
	e.json(&tl, "timeline", "1")
	var evs []string
	for _, ev := range tl.Events {
		evs = append(evs, ev.Event)
	}
	if strings.Join(evs, ",") != "created,drafted,approved" {
		t.Errorf("timeline 1 = %v", evs)
	}
	e.json(&tl, "timeline", "3")
	if tl.State != "closed" || tl.Events[len(tl.Events)-1].Detail != "its only draft was rejected: asked Dad in person (draft → closed)" {
		t.Errorf("timeline 3 = %+v", tl)
	}
	e.json(&queue, "queue")
	if len(queue) != 2 {
		t.Errorf("queue after approve/reject = %v", queue)
	}
	e.ok("approve", "--all")
	e.json(&queue, "queue")
	if len(queue) != 0 {
		t.Errorf("queue after approve --all = %v", queue)
	}

	var shown map[string]any
	e.json(&shown, "contact", "show", "jane doe")
	if shown["known_by"].([]any)[0].(map[string]any)["name"] != "Dad" || len(shown["asks"].([]any)) != 2 {
		t.Errorf("contact show = %v", shown)
	}
}

// lastDraft is the id of the newest draft in the queue.
func (e *env) lastDraft() string {
	var q []map[string]any
	e.json(&q, "queue")
	return q[len(q)-1]["id"].(string)
}

func TestHeaderInjectionAtEveryEntry(t *testing.T) {
	e := initEnv(t)
	e.ok("contact", "add", "Dad", "--email", "dad@example.com")
	e.ok("contact", "add", "Jane", "--email", "jane@example.com")
	evil := []string{"x\r\nBcc: evil@example.com", "x\nBcc: evil@example.com", "x\u2028Bcc: evil@example.com", "=?utf-8?q?x=0D=0ABcc:_evil@example.com?="}
	for _, v := range evil {
		e.fails("line break", "contact", "add", v, "--email", "n@example.com")
		e.fails("line break", "contact", "add", "Ok", "--email", "o@example.com", "--org", v)
		e.fails("line break", "contact", "add", "Ok", "--email", "o@example.com", "--role", v)
		e.fails("line break", "contact", "add", "Ok", "--email", "o@example.com", "--note", v)
		e.fails("line break", "contact", "add", "Ok", "--email", "o@example.com", "--tag", v)
		e.fails("email", "contact", "add", "Ok", "--email", "o@example.com"+v)
		e.fails("line break", "contact", "link", "dad", "jane", "--note", v)
		e.fails("line break", "ask", "interview", "--to", "jane", "--topic", v)
		e.fails("line break", "ask", "intro", "--via", "dad", "--looking-for", v)
	}
	e.fails("email", "contact", "add", "Ok", "--email", "a@example.com, b@example.com")
	var list []contactJSON
	e.json(&list, "contact", "list")
	if len(list) != 2 {
		t.Fatalf("an injected contact was stored: %+v", list)
	}
	var asks []map[string]any
	e.json(&asks, "asks")
	if len(asks) != 0 {
		t.Fatalf("an injected ask was stored: %v", asks)
	}
}

func TestImportFixtures(t *testing.T) {
	e := initEnv(t)
	fixtures, _ := filepath.Glob(filepath.Join("..", "..", "contacts", "testdata", "*"))
	if len(fixtures) < 6 {
		t.Fatalf("contacts fixtures: found %d, want the 6 of contacts/testdata", len(fixtures))
	}
	// Jane from LinkedIn is already known, by another case of her address.
	e.ok("contact", "add", "Jane Doe", "--email", "jane.doe@example.com")
	for _, f := range fixtures {
		dry := e.ok("contact", "import", f, "--dry-run", "--skip-bad")
		if !strings.Contains(dry, "dry run: nothing changed") {
			t.Errorf("import --dry-run %s: %s", f, dry)
		}
		var before []contactJSON
		e.json(&before, "contact", "list")
		res := e.ok("contact", "import", f, "--skip-bad")
		// The dry run said exactly what the import did.
		strip := func(s string) string {
			s = strings.ReplaceAll(s, "would be ", "")
			return s[:strings.LastIndex(s, " (dry run")]
		}
		if strip(dry) != strings.TrimSuffix(res, "\n") {
			t.Errorf("import %s did not do what the dry run said:\n%s\nvs\n%s", f, dry, res)
		}
		// Importing again adds nobody.
		again := e.ok("contact", "import", f, "--skip-bad", "--json")
		var r struct{ Added []any }
		json.Unmarshal([]byte(again), &r)
		if len(r.Added) != 0 {
			t.Errorf("second import of %s added %d contacts", f, len(r.Added))
		}
	}
	var all []contactJSON
	e.json(&all, "contact", "list")
	seen := map[string]bool{}
	for _, c := range all {
		for _, m := range c.Emails {
			if seen[m] {
				t.Errorf("address %s on two contacts", m)
			}
			seen[m] = true
		}
	}
	var jane []contactJSON
	e.json(&jane, "contact", "list")
	found := false
	for _, c := range jane {
		if c.Name == "Jane Doe" {
			if found {
				t.Errorf("Jane Doe duplicated")
			}
			found = true
			if c.Org == "" {
				t.Errorf("Jane Doe's org was not filled from the import: %+v", c)
			}
		}
	}
	// A file with a bad row imports nothing and names the row.
	errs := e.fails("nothing was imported", "contact", "import", filepath.Join("testdata", "bad_linkedin.csv"), "--format", "linkedin")
	if !strings.Contains(errs, "line 3") || !strings.Contains(errs, "--skip-bad") {
		t.Errorf("bad import error: %s", errs)
	}
	e.fails("no contact has the address ana@example.org", "contact", "show", "ana@example.org")
	e.ok("contact", "import", filepath.Join("testdata", "bad_linkedin.csv"), "--skip-bad")
	e.ok("contact", "show", "ana@example.org")
}

func TestUsageErrorHint(t *testing.T) {
	e := initEnv(t)
	_, errs, err := e.run("queue", "--json", "--bogus")
	if err == nil || !strings.Contains(errs, "Try: coffeechat queue --help") {
		t.Errorf("unknown flag: %v %s", err, errs)
	}
	e.fails("see `coffeechat asks`", "timeline", "99")
	for _, id := range []string{"abc", "r", "rx", "r-3", "0"} {
		e.fails(`"`+id+`" is not a queue id`, "show", id)
	}
	e.fails(`"abc" is not a queue id`, "approve", "1", "abc")

	// A hint the message already names is not printed again as "Try:".
	errs = e.fails("nothing has the id 999", "show", "999")
	if strings.Count(errs, "coffeechat queue") != 1 {
		t.Errorf("show 999 repeats its hint:\n%s", errs)
	}

	// run on a fresh config names the key to fill in, not another section.
	fresh := newEnv(t)
	fresh.ok("init")
	if errs := fresh.fails("account.email", "run"); !strings.Contains(errs, "Try: set account.email, smtp.host, imap.host in ") {
		t.Errorf("run on a fresh config:\n%s", errs)
	}
}

// A literal password in a config others can read is warned about on stderr,
// and --json output stays JSON.
func TestLiteralPasswordWarning(t *testing.T) {
	e := initEnv(t)
	cfg := filepath.Join(e.vars["XDG_CONFIG_HOME"], "coffeechat", "config.toml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`password = ""`), []byte(`password = "hunter2"`), 1)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, err := e.run("queue", "--json")
	if err != nil {
		t.Fatalf("queue --json: %v\n%s", err, errs)
	}
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("queue --json stdout = %q, want only JSON", out)
	}
	if !strings.Contains(errs, "Warning: ") || !strings.Contains(errs, "smtp.password") || !strings.Contains(errs, "chmod 600") {
		t.Errorf("queue with a world-readable literal password: stderr %q, want a warning naming smtp.password and chmod 600", errs)
	}
	os.Chmod(cfg, 0o600)
	if _, errs, _ := e.run("queue"); strings.Contains(errs, "Warning") {
		t.Errorf("a 0600 config still warns: %q", errs)
	}
}
