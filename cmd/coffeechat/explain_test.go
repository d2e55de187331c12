package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explainRun runs one command line against the XDG folders of home.
func explainRun(home string, args ...string) (string, string, error) {
	vars := map[string]string{
		"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "cfg"), "XDG_DATA_HOME": filepath.Join(home, "data"),
		"PATH": os.Getenv("PATH"),
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return vars[k] }, strings.NewReader(""), &out, &errb)
	if err != nil {
		printError(&errb, err)
	}
	return out.String(), errb.String(), err
}

func TestExplainCommand(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{"init", "--name", "Sam Rivera", "--email", "sam@example.com"},
		{"contact", "add", "Robert Rivera", "--email", "rob.rivera@gmail.com"},
	} {
		if _, errs, err := explainRun(home, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errs)
		}
	}
	db := filepath.Join(home, "data", "coffeechat", "coffeechat.db")
	sum := func() [32]byte {
		b, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := os.ReadFile(db + "-wal")
		return sha256.Sum256(append(b, w...))
	}
	before := sum()
	fix := filepath.Join("..", "..", "inbox", "testdata", "mail")

	out, errs, err := explainRun(home, "explain", filepath.Join(fix, "040-exchange-ooo-return-date.eml"), "--json")
	if err != nil {
		t.Fatalf("explain --json: %v\n%s", err, errs)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("explain --json printed no JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"kind", "ask", "matched_by", "intent", "time", "partstat", "return_date", "new_contacts", "text", "reason"} {
		if _, ok := r[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out)
		}
	}
	if r["kind"] != "auto_reply" || r["return_date"] != "2026-12-14" || r["ask"] != nil {
		t.Errorf("explain 040 = kind %v return_date %v ask %v", r["kind"], r["return_date"], r["ask"])
	}

	out, errs, err = explainRun(home, "explain", filepath.Join(fix, "001-gmail-agree-slot-number.eml"))
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, errs)
	}
	for _, want := range []string{"kind:", "reply", "intent:", "agree", "reason:", "matches no ask", "Option 2 works"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}

	bad := filepath.Join(t.TempDir(), "bad.eml")
	os.WriteFile(bad, []byte("\x00\x01\x02 this is no mail\n"), 0o600)
	if _, errs, err := explainRun(home, "explain", bad); err == nil || !strings.Contains(errs, "not an email") {
		t.Errorf("explain of a broken file: err %v, stderr %q; want a clear error", err, errs)
	}
	if _, errs, err := explainRun(home, "explain", filepath.Join(home, "missing.eml")); err == nil || !strings.Contains(errs, "no file") {
		t.Errorf("explain of a missing file: err %v, stderr %q", err, errs)
	}
	if sum() != before {
		t.Error("explain changed the database file")
	}
}
