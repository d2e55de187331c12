package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	// --keep: the demo ends its story, then waits for Ctrl-C (here: the
	// context's end) with the sandbox and the daemon still up.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuf
	env := map[string]string{"HOME": dir, "TZ": "UTC"}
	getenv := func(k string) string { return env[k] }
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--keep", "--dir", filepath.Join(dir, "demo")}, getenv, strings.NewReader(""), &out, &errOut)
	}()
	fail := func(err error) {
		t.Helper()
		t.Fatalf("demo: %v\nstderr: %s\nstdout:\n%s\nlog:\n%s", err, errOut.String(), out.String(), readFile(t, filepath.Join(dir, "demo", "daemon.log")))
	}
	deadline := time.Now().Add(2 * time.Minute) // a few seconds, usually
	for !strings.Contains(out.String(), "Press Ctrl-C to stop.") {
		select {
		case err := <-done:
			fail(fmt.Errorf("ended before waiting for Ctrl-C (--keep): %v", err))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			fail(errors.New("no end of the story in 2 minutes"))
		}
	}
	text := out.String()
	t.Log(text)
	// The command it suggests works against the sandbox it left running.
	cfg := filepath.Join(dir, "demo", "config", "config.toml")
	if want := "coffeechat --config " + cfg + " queue"; !strings.Contains(text, want) {
		t.Errorf("--keep does not suggest %q", want)
	}
	var stOut, stErr bytes.Buffer
	if err := run(context.Background(), []string{"--config", cfg, "status", "--json"}, getenv, strings.NewReader(""), &stOut, &stErr); err != nil {
		t.Fatalf("status against the kept sandbox: %v %s", err, stErr.String())
	}
	var st Status
	if err := json.Unmarshal(stOut.Bytes(), &st); err != nil || !st.Daemon.Running {
		t.Errorf("status against the kept sandbox: %v %s, want the daemon running", err, stOut.String())
	}
	cancel() // Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo --keep after Ctrl-C = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo --keep did not stop after Ctrl-C")
	}
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
	for _, ev := range []string{"introduced", "declined", "auto_reply", "sent", "invite", "invite accepted"} {
		if !regexp.MustCompile(`ask \d+ · .*\s` + ev + `\s`).MatchString(text) {
			t.Errorf("no timeline line with event %q", ev)
		}
	}
	// The schedule's drafts: the follow-up to Tom after his return, the
	// thank-yous after the interviews, the close-the-loop note to Dad.
	for who, purpose := range map[string]string{
		"Tom Baker": "follow-up 1 of 1 to Tom Baker", "Jane Doe": "thanks to Jane Doe",
		"Priya Shah": "thanks to Priya Shah", "Robert Rivera": "close_loop to Robert Rivera",
	} {
		if !regexp.MustCompile(`ask \d+ · .*\sdrafted\s+` + regexp.QuoteMeta(purpose)).MatchString(text) {
			t.Errorf("no timeline line for the scheduled draft to %s (%q)", who, purpose)
		}
	}
	for _, p := range []string{"thanks to Tom Baker", "thanks to Jane Doe", "thanks to Priya Shah", "close_loop to Robert Rivera", "followup to Tom Baker"} {
		if !regexp.MustCompile(`ask \d+ · .*\ssent\s+` + regexp.QuoteMeta(p)).MatchString(text) {
			t.Errorf("no timeline line saying %q was sent", p)
		}
	}
	// The final states, from the summary.
	want := map[string]string{
		`ask \d+\s+intro\s+Jane Doe via Robert Rivera`: "done", // closed the loop with Dad
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
		if m[1] != state {
			t.Errorf("summary: %s is %s, want %s", re, m[1], state)
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
