// Package calendartest holds test helpers for calendar data that more than
// one package's tests need: the cross-check, where two independent parsers
// (Python's icalendar, the Debian python3-icalendar package seen by
// /usr/bin/python3, and Mozilla's ical.js, the parser Thunderbird uses,
// found through COFFEECHAT_ICALJS_DIR) read what coffeechat wrote, and a
// reader of an invitation's MIME tree. It does not import package calendar,
// so that calendar's own tests can use it.
package calendartest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

// View is what every parser must agree on about a calendar's first event.
// Addresses are lower-case without "mailto:"; times are UTC RFC 3339.
type View struct {
	Method    string    `json:"method"`
	UID       string    `json:"uid"`
	Start     string    `json:"start"`
	End       string    `json:"end"`
	Organizer string    `json:"organizer"`
	Attendees []Partner `json:"attendees"`
	Sequence  int       `json:"sequence"`
	Status    string    `json:"status"`
	Summary   string    `json:"summary"`
}

// Partner is an attendee as the parsers read it.
type Partner struct {
	Email    string `json:"email"`
	PartStat string `json:"partstat"`
	CN       string `json:"cn"`
}

// Case is one calendar to cross-check and what it must read as.
type Case struct {
	Name string
	Data []byte
	Want View
}

// EnvXCheck turns the cross-check on when it is "1"; EnvICALJS names the
// folder holding node_modules/ical.js.
const (
	EnvXCheck = "COFFEECHAT_XCHECK"
	EnvICALJS = "COFFEECHAT_ICALJS_DIR"
)

// Python is the interpreter that sees the Debian python3-icalendar package
// (a pyenv python on PATH does not).
const Python = "/usr/bin/python3"

const pythonReader = `
import json, sys, datetime
from icalendar import Calendar
def addr(v):
    v = str(v)
    return v[7:].lower() if v.lower().startswith("mailto:") else v.lower()
def iso(v):
    return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
out = []
for name in sys.argv[1:]:
    cal = Calendar.from_ical(open(name, "rb").read())
    ev = cal.walk("VEVENT")[0]
    att = ev.get("attendee", [])
    if not isinstance(att, list):
        att = [att]
    out.append({
        "method": str(cal.get("method", "")),
        "uid": str(ev.get("uid")),
        "start": iso(ev.decoded("dtstart")),
        "end": iso(ev.decoded("dtend")),
        "organizer": addr(ev.get("organizer")),
        "attendees": [{"email": addr(a), "partstat": str(a.params.get("PARTSTAT", "")), "cn": str(a.params.get("CN", ""))} for a in att],
        "sequence": int(ev.get("sequence", 0)),
        "status": str(ev.get("status", "")),
        "summary": str(ev.get("summary", "")),
    })
print(json.dumps(out))
`

const nodeReader = `
const { pathToFileURL } = require("url");
const fs = require("fs");
const path = require("path");
(async () => {
  const mod = await import(pathToFileURL(path.join(process.env.COFFEECHAT_ICALJS_DIR, "node_modules/ical.js/dist/ical.js")).href);
  const ICAL = mod.default || mod;
  const addr = (v) => { v = String(v); return v.toLowerCase().startsWith("mailto:") ? v.slice(7).toLowerCase() : v.toLowerCase(); };
  const iso = (t) => t.toJSDate().toISOString().replace(".000Z", "Z");
  const out = [];
  for (const name of process.argv.slice(1)) {
    const cal = new ICAL.Component(ICAL.parse(fs.readFileSync(name, "utf8")));
    const ve = cal.getFirstSubcomponent("vevent");
    const ev = new ICAL.Event(ve);
    out.push({
      method: cal.getFirstPropertyValue("method") || "",
      uid: ev.uid,
      start: iso(ev.startDate),
      end: iso(ev.endDate),
      organizer: addr(ve.getFirstPropertyValue("organizer")),
      attendees: ve.getAllProperties("attendee").map((a) => ({
        email: addr(a.getFirstValue()), partstat: a.getParameter("partstat") || "", cn: a.getParameter("cn") || "",
      })),
      sequence: ev.sequence || 0,
      status: ve.getFirstPropertyValue("status") || "",
      summary: ev.summary || "",
    });
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`

// Require skips the test unless COFFEECHAT_XCHECK=1, and fails it when the
// cross-check is asked for but a reader is missing. It returns the ical.js
// folder.
func Require(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvXCheck) != "1" {
		t.Skipf("%s is not 1", EnvXCheck)
	}
	dir := os.Getenv(EnvICALJS)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ical.js", "package.json")); dir == "" || err != nil {
		t.Fatalf("%s=%q has no node_modules/ical.js", EnvICALJS, dir)
	}
	if _, err := os.Stat(Python); err != nil {
		t.Fatalf("cross-check: %v", err)
	}
	return dir
}

// Read has python icalendar and ical.js each read every calendar in one run,
// and returns their views in order. Call Require first.
func Read(t testing.TB, cals ...[]byte) (python, icaljs []View) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, c := range cals {
		f := filepath.Join(dir, fmt.Sprintf("%02d.ics", i))
		if err := os.WriteFile(f, c, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	run := func(name string, cmd *exec.Cmd) []View {
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		var views []View
		if err := json.Unmarshal(out, &views); err != nil {
			t.Fatalf("%s output %q: %v", name, out, err)
		}
		if len(views) != len(cals) {
			t.Fatalf("%s read %d calendars, want %d", name, len(views), len(cals))
		}
		return views
	}
	python = run("python3 icalendar", exec.Command(Python, append([]string{"-c", pythonReader}, files...)...))
	node := exec.Command("node", append([]string{"-e", nodeReader}, files...)...)
	node.Env = append(os.Environ(), EnvICALJS+"="+os.Getenv(EnvICALJS))
	icaljs = run("node ical.js", node)
	return python, icaljs
}

// Check has both readers read every case and reports, as test errors, each
// view that differs from the case's Want. Call Require first.
func Check(t testing.TB, cases ...Case) {
	t.Helper()
	var cals [][]byte
	for _, c := range cases {
		cals = append(cals, c.Data)
	}
	py, js := Read(t, cals...)
	for i, c := range cases {
		for _, got := range []struct {
			who  string
			view View
		}{{"python icalendar", py[i]}, {"ical.js", js[i]}} {
			if !reflect.DeepEqual(got.view, c.Want) {
				t.Errorf("%s reads %s as\n  %+v\nwant\n  %+v", got.who, c.Name, got.view, c.Want)
			}
		}
	}
}

// Shape returns the MIME tree of a raw message, e.g.
// multipart/mixed[multipart/alternative[text/plain,text/calendar;method=REQUEST/base64],application/ics:invite.ics/base64],
// and the decoded body of the first leaf of each content type.
func Shape(t testing.TB, raw []byte) (string, map[string][]byte) {
	t.Helper()
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{}
	var walk func(e *message.Entity) string
	walk = func(e *message.Entity) string {
		ct, params, _ := e.Header.ContentType()
		if mr := e.MultipartReader(); mr != nil {
			var kids []string
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				kids = append(kids, walk(p))
			}
			return ct + "[" + strings.Join(kids, ",") + "]"
		}
		s := ct
		if m := params["method"]; m != "" {
			s += ";method=" + m
		}
		if _, dp, err := e.Header.ContentDisposition(); err == nil && dp["filename"] != "" {
			s += ":" + dp["filename"]
		}
		if enc := e.Header.Get("Content-Transfer-Encoding"); enc == "base64" {
			s += "/base64"
		}
		b, err := io.ReadAll(e.Body)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := bodies[ct]; !ok {
			bodies[ct] = b
		}
		return s
	}
	return walk(ent), bodies
}
