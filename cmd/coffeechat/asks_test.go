package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAsksListInAccountZone: LAST ACTIVITY is shown in account.timezone,
// like every other time, whatever the machine's zone; --state says when
// nothing is in a state, and names the states when it is not one.
func TestAsksListInAccountZone(t *testing.T) {
	e := initEnv(t)
	// A zone no test machine runs in, so the machine's zone cannot pass for it.
	const zone = "Pacific/Chatham"
	cfg := filepath.Join(e.vars["XDG_CONFIG_HOME"], "coffeechat", "config.toml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `timezone = "America/Los_Angeles"`, `timezone = "`+zone+`"`, 1))
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	e.ok("contact", "add", "Jane Doe", "--email", "jane@example.com")
	e.ok("ask", "interview", "--to", "jane")
	var asks []struct {
		LastActivity time.Time `json:"last_activity"`
	}
	e.json(&asks, "asks")
	if len(asks) != 1 {
		t.Fatalf("asks = %+v", asks)
	}
	want := asks[0].LastActivity.In(loc).Format("2006-01-02 15:04")
	out := e.ok("asks")
	if !strings.Contains(out, want) {
		t.Errorf("asks shows LAST ACTIVITY not in %s (want %s):\n%s", zone, want, out)
	}
	tl := e.ok("timeline", "1")
	if !strings.Contains(tl, want) {
		t.Errorf("timeline 1 not in %s (want %s):\n%s", zone, want, tl)
	}

	if out := e.ok("asks", "--state", "scheduled"); strings.TrimSpace(out) != "No asks in state scheduled." {
		t.Errorf("asks --state scheduled = %q, want No asks in state scheduled.", out)
	}
	errs := e.fails(`unknown state "sheduled"`, "asks", "--state", "sheduled")
	for _, s := range []string{"draft", "waiting", "scheduled", "no_answer", "closed"} {
		if !strings.Contains(errs, s) {
			t.Errorf("asks --state sheduled does not list %s: %q", s, errs)
		}
	}
}
