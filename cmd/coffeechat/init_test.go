package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestInitNextStepsRunAsTyped runs the commands init suggests, in the order
// it prints them: each must work on the fresh setup (no name used before it
// is added).
func TestInitNextStepsRunAsTyped(t *testing.T) {
	e := newEnv(t)
	out := e.ok("init", "--name", "Sam Rivera", "--email", "sam@example.com")
	cmds := regexp.MustCompile(`(?m)^\s*coffeechat ((?:contact (?:add|link)|ask (?:intro|interview)) .*)$`).FindAllStringSubmatch(out, -1)
	if len(cmds) < 5 {
		t.Fatalf("init suggests %d contact/ask commands, want add, add, link, ask intro, ask interview:\n%s", len(cmds), out)
	}
	var kinds []string
	for _, c := range cmds {
		args := splitArgs(t, c[1])
		kinds = append(kinds, args[0]+" "+args[1])
		e.ok(args...)
	}
	if got := strings.Join(kinds, ", "); !strings.Contains(got, "contact link, ask intro") {
		t.Errorf("next steps in order %q: the link should come before the intro that uses it", got)
	}
}

// splitArgs splits a command line as a shell would, for double quotes only.
func splitArgs(t *testing.T, line string) []string {
	t.Helper()
	var args []string
	var cur strings.Builder
	quoted, in := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				args = append(args, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", line)
	}
	if in {
		args = append(args, cur.String())
	}
	return args
}

// TestInitNameKeepsCommentColumn checks that --name and --email fill the
// config without pushing the key's comment out of the column the others use.
func TestInitNameKeepsCommentColumn(t *testing.T) {
	e := newEnv(t)
	e.ok("init", "--name", "Sam Rivera", "--email", "sam@example.com")
	b, err := os.ReadFile(filepath.Join(e.vars["XDG_CONFIG_HOME"], "coffeechat", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		for _, key := range []string{"name", "email", "timezone"} {
			if strings.HasPrefix(line, key+" = ") && cols[key] == 0 {
				cols[key] = strings.Index(line, "#")
			}
		}
	}
	if cols["timezone"] <= 0 || cols["name"] != cols["timezone"] || cols["email"] != cols["timezone"] {
		t.Errorf("comment columns of name, email, timezone = %d, %d, %d; want the same", cols["name"], cols["email"], cols["timezone"])
	}
}
