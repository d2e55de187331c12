package main

import (
	"strings"
	"testing"
)

// TestInterviewChangeErrors: move, cancel and schedule name what is wrong
// and what to try, each with its own advice.
func TestInterviewChangeErrors(t *testing.T) {
	e := initEnv(t)
	for _, c := range []struct {
		want string
		args []string
	}{
		{`"x" is not an interview number`, []string{"interview", "cancel", "x"}},
		{"Try: coffeechat interviews", []string{"interview", "move", "0", "--to", "2026-12-08 14:00"}},
		{"Try: coffeechat interview move ID --to", []string{"interview", "move", "1", "--to", "someday"}},
		{"see `coffeechat interviews`", []string{"interview", "cancel", "7"}},
		{"Try: coffeechat asks --state agreed", []string{"interview", "schedule", "abc", "--at", "2026-12-08 14:00"}},
		{"Try: coffeechat interview schedule ASK --at", []string{"interview", "schedule", "1", "--at", "someday"}},
		{"Try: coffeechat queue", []string{"interview", "schedule", "5", "--at", "2026-12-08 14:00"}},
		{`"abc" is not an ask number`, []string{"timeline", "abc"}},
	} {
		e.fails(c.want, c.args...)
	}
}

// TestInterviewsColumnsLineUp: a two-digit day ("Dec 11") does not push the
// status column of its row out of line with a one-digit day's.
func TestInterviewsColumnsLineUp(t *testing.T) {
	e := initEnv(t)
	e.ok("contact", "add", "Priya Shah", "--email", "priya@example.com")
	e.ok("contact", "add", "Tom Baker", "--email", "tom@example.com")
	e.ok("ask", "interview", "--to", "priya")
	e.ok("ask", "interview", "--to", "tom")
	e.ok("interview", "schedule", "1", "--at", "2030-12-02 10:00")
	e.ok("interview", "schedule", "2", "--at", "2030-12-11 10:00")
	out := e.ok("interviews")
	var cols []int
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, "invited"); i >= 0 {
			cols = append(cols, len([]rune(line[:i])))
		}
	}
	if len(cols) != 2 || cols[0] != cols[1] {
		t.Errorf("status columns at %v, want two equal:\n%s", cols, out)
	}
	out = e.ok("status")
	cols = nil
	for _, line := range strings.Split(out, "\n") {
		for _, who := range []string{"Priya Shah (", "Tom Baker ("} {
			if i := strings.Index(line, who); i >= 0 {
				cols = append(cols, len([]rune(line[:i])))
			}
		}
	}
	if len(cols) != 2 || cols[0] != cols[1] {
		t.Errorf("status: names at %v, want two equal:\n%s", cols, out)
	}
}
