package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `coffeechat demo` in-process and checks that the story was
// told (each step in the output), where every ask ended, and that no
// mailbox got the same Message-ID twice (the demo fails itself then).
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole story takes a few seconds")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	env := map[string]string{"HOME": dir, "TZ": "UTC"}
	err := run(ctx, []string{"demo", "--dir", filepath.Join(dir, "demo")}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	text := out.String()
	if err != nil {
		t.Fatalf("demo: %v\nstderr: %s\nstdout:\n%s\nlog:\n%s", err, errOut.String(), text, readFile(t, filepath.Join(dir, "demo", "daemon.log")))
	}
	t.Log(text)
	for _, want := range []string{
		"$ coffeechat contact add",
		"$ coffeechat ask intro",
		"$ coffeechat ask interview",
		"(demo) approving draft 1 ",
		"as you would with `coffeechat approve 1`",
		"answers from Gmail (reply-all, Cc",                  // Dad introduces Jane
		"Bcc: Robert Rivera <dad@example.test>",              // the connector moved to Bcc
		"answers from Outlook",                               // Jane, Tom
		"answers from Apple Mail",                            // Rachel
		"picks proposed slot 2",                              // Priya picks the second slot
		"click Accept",                                       // invites accepted (iMIP REPLY)
		"mailbox answers by itself: out of the office until", // Tom's auto-reply
		"(demo) moving the clock forward",
		"Database:", "Sent messages:", "Calendar:",
		"every Message-ID at most once in each mailbox",
		"Demo complete:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	for _, ev := range []string{"introduced", "declined", "auto_reply", "sent", "invite"} {
		if !regexp.MustCompile(`ask \d+ · .*\s` + ev + `\s`).MatchString(text) {
			t.Errorf("no timeline line with event %q", ev)
		}
	}
	// The final states, from the summary.
	want := map[string]string{
		`ask \d+\s+intro\s+Jane Doe via Robert Rivera`: "",
		`ask \d+\s+interview\s+Jane Doe`:               "done",
		`ask \d+\s+interview\s+Priya Shah`:             "done",
		`ask \d+\s+interview\s+Rachel Kim`:             "declined",
		`ask \d+\s+interview\s+Tom Baker`:              "done",
	}
	summary := text[strings.LastIndex(text, "Summary:"):]
	for re, state := range want {
		m := regexp.MustCompile(re + `[^:\n]*: (\w+)`).FindStringSubmatch(summary)
		if m == nil {
			t.Errorf("summary lacks %s:\n%s", re, summary)
			continue
		}
		if state != "" && m[1] != state {
			t.Errorf("summary: %s is %s, want %s", re, m[1], state)
		}
		if state == "" && m[1] != "introduced" && m[1] != "done" {
			t.Errorf("summary: the intro ask is %s, want introduced or done", m[1])
		}
	}
	// The files it points at exist.
	emls, _ := filepath.Glob(filepath.Join(dir, "demo", "sent", "*.eml"))
	if len(emls) < 10 {
		t.Errorf("%d sent .eml files, want at least 10 (requests, invites, follow-up, thanks)", len(emls))
	}
	ics, _ := filepath.Glob(filepath.Join(dir, "demo", "calendar", "*.ics"))
	if len(ics) != 3 {
		t.Errorf("%d .ics files, want 3 (Jane, Priya, Tom)", len(ics))
	}
	if _, err := os.Stat(filepath.Join(dir, "demo", "coffeechat.db")); err != nil {
		t.Errorf("database: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, _ := os.ReadFile(path)
	return string(b)
}
