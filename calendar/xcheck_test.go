package calendar

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The cross-check reads what Request, Cancel and Publish write with two
// independent parsers: Python's icalendar (Debian python3-icalendar) and
// Mozilla's ical.js (Thunderbird's), found through COFFEECHAT_ICALJS_DIR.
// It runs when COFFEECHAT_XCHECK=1.

// xview is what every parser must agree on.
type xview struct {
	Method    string     `json:"method"`
	UID       string     `json:"uid"`
	Start     string     `json:"start"`
	End       string     `json:"end"`
	Organizer string     `json:"organizer"`
	Attendees []xpartner `json:"attendees"`
	Sequence  int        `json:"sequence"`
	Status    string     `json:"status"`
	Summary   string     `json:"summary"`
}

type xpartner struct {
	Email    string `json:"email"`
	PartStat string `json:"partstat"`
	CN       string `json:"cn"`
}

const xcheckPython = `
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

const xcheckNode = `
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

func TestCrossCheck(t *testing.T) {
	if os.Getenv("COFFEECHAT_XCHECK") != "1" {
		t.Skip("COFFEECHAT_XCHECK is not 1")
	}
	icaljs := os.Getenv("COFFEECHAT_ICALJS_DIR")
	if _, err := os.Stat(filepath.Join(icaljs, "node_modules", "ical.js", "package.json")); icaljs == "" || err != nil {
		t.Fatalf("COFFEECHAT_ICALJS_DIR=%q has no node_modules/ical.js", icaljs)
	}

	long := sampleEvent()
	long.UID = NewUID("coffeechat.example.com")
	long.Summary = "Kaffee mit Jürgen Öztürk — über Sportmarketing, Ausbildung und Berufseinstieg"
	long.Description = strings.Repeat("Grüße aus München, bis bald; ", 12)
	long.Attendees = append(long.Attendees, Person{Name: "Ünal, Ayşe", Email: "ayse@example.org"})
	long.Start, long.End = utc("2026-03-09T16:00:00Z"), utc("2026-03-09T16:45:00Z")

	cancelled := sampleEvent()
	cancelled.Sequence = 2
	published := sampleEvent()
	published.Sequence = 1
	published.Status = StatusCancelled
	published.Attendees[0].PartStat = PartAccepted

	type output struct {
		name string
		data []byte
		want xview
	}
	var outs []output
	add := func(name string, build func(Event) ([]byte, error), ev Event, method, status string, partstat func(Person) string) {
		b, err := build(ev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w := xview{Method: method, UID: ev.UID, Start: ev.Start.UTC().Format(time.RFC3339), End: ev.End.UTC().Format(time.RFC3339),
			Organizer: ev.Organizer.Email, Sequence: ev.Sequence, Status: status, Summary: cleanLine(ev.Summary)}
		for _, a := range ev.Attendees {
			w.Attendees = append(w.Attendees, xpartner{Email: a.Email, PartStat: partstat(a), CN: cleanParam(a.Name)})
		}
		outs = append(outs, output{name, b, w})
	}
	needs := func(Person) string { return PartNeedsAction }
	kept := func(p Person) string {
		if p.PartStat == "" {
			return PartNeedsAction
		}
		return p.PartStat
	}
	add("request", Request, sampleEvent(), MethodRequest, StatusConfirmed, needs)
	add("request-long", Request, long, MethodRequest, StatusConfirmed, needs)
	add("cancel", Cancel, cancelled, MethodCancel, StatusCancelled, kept)
	add("publish-cancelled", Publish, published, "", StatusCancelled, kept)

	dir := t.TempDir()
	var files []string
	for _, o := range outs {
		f := filepath.Join(dir, o.name+".ics")
		if err := os.WriteFile(f, o.data, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	run := func(name string, cmd *exec.Cmd) []xview {
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		var views []xview
		if err := json.Unmarshal(out, &views); err != nil {
			t.Fatalf("%s output %q: %v", name, out, err)
		}
		if len(views) != len(outs) {
			t.Fatalf("%s read %d calendars, want %d", name, len(views), len(outs))
		}
		return views
	}
	py := run("python3 icalendar", exec.Command("/usr/bin/python3", append([]string{"-c", xcheckPython}, files...)...))
	node := exec.Command("node", append([]string{"-e", xcheckNode}, files...)...)
	node.Env = append(os.Environ(), "COFFEECHAT_ICALJS_DIR="+icaljs)
	js := run("node ical.js", node)

	for i, o := range outs {
		// Our own parser must agree too.
		msg, err := Parse(o.data)
		if err != nil {
			t.Fatalf("Parse(%s): %v", o.name, err)
		}
		ev := msg.Events[0]
		own := xview{Method: msg.Method, UID: ev.UID, Start: ev.Start.UTC().Format(time.RFC3339), End: ev.End.UTC().Format(time.RFC3339),
			Organizer: ev.Organizer.Email, Sequence: ev.Sequence, Status: ev.Status, Summary: ev.Summary}
		for _, a := range ev.Attendees {
			own.Attendees = append(own.Attendees, xpartner{Email: a.Email, PartStat: a.PartStat, CN: a.Name})
		}
		for _, got := range []struct {
			who  string
			view xview
		}{{"coffeechat", own}, {"python icalendar", py[i]}, {"ical.js", js[i]}} {
			if !reflect.DeepEqual(got.view, o.want) {
				t.Errorf("%s reads %s as\n  %+v\nwant\n  %+v", got.who, o.name, got.view, o.want)
			}
		}
	}
}
